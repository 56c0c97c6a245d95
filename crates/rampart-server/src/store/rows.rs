//! One row type per query shape, decoded the same way on both backends.
//!
//! Each row derives `sqlx::FromRow`, whose implementation is generic over the database:
//! the field types (`String`, `i64`, `bool`, `Vec<u8>`, `Option<…>`) decode from SQLite's
//! `TEXT`/`INTEGER`/`BLOB` and from Postgres' `TEXT`/`BIGINT`/`BOOLEAN`/`BYTEA` alike. The
//! conversion to the model (ids to UUIDs, space-separated lists to vectors, JSON text to a
//! value) is written once, here, as `TryFrom<Row>`. Only the SQL that produces the
//! columns differs per backend (`group_concat` vs `string_agg`, `?` vs `$1`).

use super::error::uuid;
use super::{
    AuditRecord, AuthMethod, Client, Profile, RefreshToken, Role, ScopeDef, Session, StoreError,
    StoredKey, User, split,
};

/// A user with their roles aggregated into one space-separated column `roles`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    password_hash: String,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
    password_changed_at: i64,
    tokens_valid_after: i64,
    roles: Option<String>,
    name: Option<String>,
    email: Option<String>,
    email_verified: bool,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            username: row.username,
            password_hash: row.password_hash,
            disabled: row.disabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
            password_changed_at: row.password_changed_at,
            tokens_valid_after: row.tokens_valid_after,
            roles: row.roles.map(|r| split(&r)).unwrap_or_default(),
            profile: Profile {
                name: row.name,
                email: row.email,
                email_verified: row.email_verified,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ScopeRow {
    name: String,
    description: String,
    is_default: bool,
}

impl From<ScopeRow> for ScopeDef {
    fn from(row: ScopeRow) -> Self {
        Self {
            name: row.name,
            description: row.description,
            is_default: row.is_default,
        }
    }
}

/// A role with its scopes aggregated into one space-separated column `scopes`.
#[derive(sqlx::FromRow)]
pub(crate) struct RoleRow {
    name: String,
    description: String,
    scopes: Option<String>,
}

impl From<RoleRow> for Role {
    fn from(row: RoleRow) -> Self {
        Self {
            name: row.name,
            description: row.description,
            scopes: row.scopes.map(|s| split(&s)).unwrap_or_default(),
        }
    }
}

/// Columns of a client, in the order of [`ClientRow`].
pub(crate) const CLIENT_COLUMNS: &str = "id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at, \
     redirect_uris, post_logout_redirect_uris, first_party, token_endpoint_auth_method, access_token_ttl, refresh_token_ttl, \
     logout_revokes_tokens";

#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    id: String,
    name: String,
    confidential: bool,
    secret_hash: Option<Vec<u8>>,
    grants: String,
    scopes: String,
    audience: Option<String>,
    disabled: bool,
    created_at: i64,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    first_party: bool,
    token_endpoint_auth_method: String,
    access_token_ttl: Option<i64>,
    refresh_token_ttl: Option<i64>,
    logout_revokes_tokens: bool,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let bad =
            |what: &str| StoreError::Internal(format!("a stored client has an invalid {what}"));
        let ttl = |v: Option<i64>| {
            v.map(u32::try_from)
                .transpose()
                .map_err(|_| bad("lifetime"))
        };
        Ok(Self {
            id: row.id,
            name: row.name,
            confidential: row.confidential,
            secret_hash: row.secret_hash,
            grants: split(&row.grants),
            scopes: split(&row.scopes),
            audience: row.audience,
            disabled: row.disabled,
            created_at: row.created_at,
            redirect_uris: split(&row.redirect_uris),
            post_logout_redirect_uris: split(&row.post_logout_redirect_uris),
            first_party: row.first_party,
            auth_method: AuthMethod::parse(&row.token_endpoint_auth_method)
                .ok_or_else(|| bad("token_endpoint_auth_method"))?,
            access_token_ttl: ttl(row.access_token_ttl)?,
            refresh_token_ttl: ttl(row.refresh_token_ttl)?,
            logout_revokes_tokens: row.logout_revokes_tokens,
        })
    }
}

/// A [`ClientChange`](super::ClientChange) as bind values, in the order of both backends'
/// UPDATE (`None`: keep the column; each lifetime is a "set it" flag and a value).
pub(crate) struct ChangeRow {
    pub disabled: Option<bool>,
    pub grants: Option<String>,
    pub scopes: Option<String>,
    pub redirect_uris: Option<String>,
    pub post_logout_redirect_uris: Option<String>,
    pub first_party: Option<bool>,
    pub logout_revokes_tokens: Option<bool>,
    pub auth_method: Option<&'static str>,
    pub access_token_ttl: (bool, Option<i64>),
    pub refresh_token_ttl: (bool, Option<i64>),
}

impl ChangeRow {
    pub(crate) fn of(change: &super::ClientChange) -> Self {
        let list = |l: &Option<Vec<String>>| l.as_deref().map(super::join);
        let ttl = |t: Option<Option<u32>>| (t.is_some(), t.flatten().map(i64::from));
        Self {
            disabled: change.disabled,
            grants: list(&change.grants),
            scopes: list(&change.scopes),
            redirect_uris: list(&change.redirect_uris),
            post_logout_redirect_uris: list(&change.post_logout_redirect_uris),
            first_party: change.first_party,
            logout_revokes_tokens: change.logout_revokes_tokens,
            auth_method: change.auth_method.map(AuthMethod::as_str),
            access_token_ttl: ttl(change.access_token_ttl),
            refresh_token_ttl: ttl(change.refresh_token_ttl),
        }
    }
}

/// Columns of a refresh token, in the order of [`RefreshRow`].
pub(crate) const REFRESH_COLUMNS: &str = "id, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at, used_at, revoked_at";

#[derive(sqlx::FromRow)]
pub(crate) struct RefreshRow {
    id: String,
    family_id: String,
    user_id: String,
    client_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    idle_expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<RefreshRow> for RefreshToken {
    type Error = StoreError;
    fn try_from(row: RefreshRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            family_id: uuid(&row.family_id)?,
            user_id: uuid(&row.user_id)?,
            client_id: row.client_id,
            scope: row.scope,
            created_at: row.created_at,
            expires_at: row.expires_at,
            idle_expires_at: row.idle_expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    family_id: String,
    user_id: String,
    username: String,
    client_id: String,
    scope: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(Self {
            family_id: uuid(&row.family_id)?,
            user_id: uuid(&row.user_id)?,
            username: row.username,
            client_id: row.client_id,
            scope: row.scope,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        })
    }
}

/// A session revoked at `revoked_at` (the latest revocation in its family).
#[derive(sqlx::FromRow)]
pub(crate) struct RevokedSessionRow {
    family_id: String,
    revoked_at: i64,
}

impl TryFrom<RevokedSessionRow> for (uuid::Uuid, i64) {
    type Error = StoreError;
    fn try_from(row: RevokedSessionRow) -> Result<Self, StoreError> {
        Ok((uuid(&row.family_id)?, row.revoked_at))
    }
}

/// Columns of a signing key, in the order of [`KeyRow`].
pub(crate) const KEY_COLUMNS: &str =
    "kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until";

#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    alg: String,
    sealed_key: Vec<u8>,
    created_at: i64,
    activates_at: i64,
    retired_at: Option<i64>,
    publish_until: Option<i64>,
}

impl From<KeyRow> for StoredKey {
    fn from(row: KeyRow) -> Self {
        Self {
            kid: row.kid,
            alg: row.alg,
            sealed_key: row.sealed_key,
            created_at: row.created_at,
            activates_at: row.activates_at,
            retired_at: row.retired_at,
            publish_until: row.publish_until,
        }
    }
}

/// Columns of an audit event, in the order of [`AuditRow`].
pub(crate) const AUDIT_COLUMNS: &str =
    "id, at, kind, actor, subject, client_id, ip, reason, details";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: String,
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    reason: Option<String>,
    details: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;
    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            at: row.at,
            kind: row.kind,
            actor: row.actor,
            subject: row.subject,
            client_id: row.client_id,
            ip: row.ip,
            reason: row.reason,
            details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
        })
    }
}

/// A throttle key's lock deadline.
#[derive(sqlx::FromRow)]
pub(crate) struct LockRow {
    pub(crate) key: String,
    pub(crate) locked_until: i64,
}

/// A denylisted access token.
#[derive(sqlx::FromRow)]
pub(crate) struct JtiRow {
    jti: String,
    expires_at: i64,
}

impl From<JtiRow> for (String, i64) {
    fn from(row: JtiRow) -> Self {
        (row.jti, row.expires_at)
    }
}

/// Rows to models, the first failure ending the lot.
pub(crate) fn models<R, M>(rows: Vec<R>) -> Result<Vec<M>, StoreError>
where
    M: TryFrom<R>,
    StoreError: From<M::Error>,
{
    rows.into_iter()
        .map(|row| M::try_from(row).map_err(StoreError::from))
        .collect()
}

/// An optional row to an optional model.
pub(crate) fn model<R, M>(row: Option<R>) -> Result<Option<M>, StoreError>
where
    M: TryFrom<R>,
    StoreError: From<M::Error>,
{
    row.map(|row| M::try_from(row).map_err(StoreError::from))
        .transpose()
}

/// Columns of an authorization code, in the order of [`CodeRow`].
pub(crate) const CODE_COLUMNS: &str = "client_id, user_id, redirect_uri, code_challenge, scope, nonce, auth_time, browser_session, \
     created_at, expires_at, used_at, family_id, access_jti, access_expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    client_id: String,
    user_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    nonce: Option<String>,
    auth_time: i64,
    browser_session: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    family_id: Option<String>,
    access_jti: Option<String>,
    access_expires_at: Option<i64>,
}

impl TryFrom<CodeRow> for super::AuthCode {
    type Error = StoreError;
    fn try_from(row: CodeRow) -> Result<Self, StoreError> {
        let redeemed = match (row.family_id, row.access_jti, row.access_expires_at) {
            (Some(family), Some(jti), Some(expires_at)) => Some(super::Redemption {
                family_id: uuid(&family)?,
                access_jti: jti,
                access_expires_at: expires_at,
            }),
            _ => None,
        };
        Ok(Self {
            client_id: row.client_id,
            user_id: uuid(&row.user_id)?,
            redirect_uri: row.redirect_uri,
            code_challenge: row.code_challenge,
            scope: row.scope,
            nonce: row.nonce,
            auth_time: row.auth_time,
            browser_session: row.browser_session.as_deref().map(uuid).transpose()?,
            created_at: row.created_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            redeemed,
        })
    }
}

pub(crate) const BROWSER_SESSION_COLUMNS: &str =
    "id, user_id, auth_time, created_at, last_seen_at, expires_at, ended_at";

#[derive(sqlx::FromRow)]
pub(crate) struct BrowserSessionRow {
    id: String,
    user_id: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
}

impl TryFrom<BrowserSessionRow> for super::BrowserSession {
    type Error = StoreError;
    fn try_from(row: BrowserSessionRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            user_id: uuid(&row.user_id)?,
            auth_time: row.auth_time,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            ended_at: row.ended_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    user_id: String,
    client_id: String,
    scope: String,
    granted_at: i64,
}

impl TryFrom<ConsentRow> for super::Consent {
    type Error = StoreError;
    fn try_from(row: ConsentRow) -> Result<Self, StoreError> {
        Ok(Self {
            user_id: uuid(&row.user_id)?,
            client_id: row.client_id,
            scopes: row
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            granted_at: row.granted_at,
        })
    }
}

/// (family, client) pairs as stored.
pub(crate) fn families(
    rows: Vec<(String, String)>,
) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
    rows.into_iter()
        .map(|(family, client)| Ok((uuid(&family)?, client)))
        .collect()
}
