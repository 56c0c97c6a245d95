//! Postgres rows to store types, and the column lists the queries select.

use sqlx::Row as _;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::retry::map_err;
use crate::store::{
    AuditRecord, Client, RefreshToken, Role, Session, StoreError, StoredKey, User, split,
};

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|_| StoreError::Internal("a stored id is not a UUID".into()))
}

pub(super) fn user_from(row: &PgRow) -> Result<User, StoreError> {
    let roles: Option<String> = row.try_get("roles").map_err(map_err)?;
    Ok(User {
        id: uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?,
        username: row.try_get("username").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        disabled: row.try_get("disabled").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        password_changed_at: row.try_get("password_changed_at").map_err(map_err)?,
        tokens_valid_after: row.try_get("tokens_valid_after").map_err(map_err)?,
        roles: roles.map(|r| split(&r)).unwrap_or_default(),
    })
}

pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.disabled, u.created_at, u.updated_at, u.password_changed_at, u.tokens_valid_after, \
     (SELECT string_agg(role, ' ' ORDER BY role) FROM user_roles WHERE user_id = u.id) AS roles";

pub(super) fn client_from(row: &PgRow) -> Result<Client, StoreError> {
    Ok(Client {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        confidential: row.try_get("confidential").map_err(map_err)?,
        secret_hash: row.try_get("secret_hash").map_err(map_err)?,
        grants: split(&row.try_get::<String, _>("grants").map_err(map_err)?),
        scopes: split(&row.try_get::<String, _>("scopes").map_err(map_err)?),
        audience: row.try_get("audience").map_err(map_err)?,
        disabled: row.try_get("disabled").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

pub(super) const CLIENT_COLUMNS: &str =
    "id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at";

pub(super) fn refresh_from(row: &PgRow) -> Result<RefreshToken, StoreError> {
    Ok(RefreshToken {
        id: uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?,
        family_id: uuid(&row.try_get::<String, _>("family_id").map_err(map_err)?)?,
        user_id: uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        scope: row.try_get("scope").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
        idle_expires_at: row.try_get("idle_expires_at").map_err(map_err)?,
        used_at: row.try_get("used_at").map_err(map_err)?,
        revoked_at: row.try_get("revoked_at").map_err(map_err)?,
    })
}

pub(super) const REFRESH_COLUMNS: &str = "id, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at, used_at, revoked_at";

pub(super) fn role_from(row: &PgRow) -> Result<Role, StoreError> {
    Ok(Role {
        name: row.try_get("name").map_err(map_err)?,
        description: row.try_get("description").map_err(map_err)?,
        scopes: row
            .try_get::<Option<String>, _>("scopes")
            .map_err(map_err)?
            .map(|s| split(&s))
            .unwrap_or_default(),
    })
}

pub(super) const ROLE_COLUMNS: &str = "r.name, r.description, \
     (SELECT string_agg(scope, ' ' ORDER BY scope) FROM role_scopes WHERE role = r.name) AS scopes";

pub(super) fn key_from(row: &PgRow) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        kid: row.try_get("kid").map_err(map_err)?,
        alg: row.try_get("alg").map_err(map_err)?,
        sealed_key: row.try_get("sealed_key").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        activates_at: row.try_get("activates_at").map_err(map_err)?,
        retired_at: row.try_get("retired_at").map_err(map_err)?,
        publish_until: row.try_get("publish_until").map_err(map_err)?,
    })
}

pub(super) fn session_from(row: &PgRow) -> Result<Session, StoreError> {
    Ok(Session {
        family_id: uuid(&row.try_get::<String, _>("family_id").map_err(map_err)?)?,
        user_id: uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?,
        username: row.try_get("username").map_err(map_err)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        scope: row.try_get("scope").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        last_used_at: row.try_get("last_used_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
    })
}

pub(super) fn audit_from(row: &PgRow) -> Result<AuditRecord, StoreError> {
    let details: String = row.try_get("details").map_err(map_err)?;
    Ok(AuditRecord {
        id: uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?,
        at: row.try_get("at").map_err(map_err)?,
        kind: row.try_get("kind").map_err(map_err)?,
        actor: row.try_get("actor").map_err(map_err)?,
        subject: row.try_get("subject").map_err(map_err)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        ip: row.try_get("ip").map_err(map_err)?,
        reason: row.try_get("reason").map_err(map_err)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}
