//! The Postgres store: several `rampart serve` instances on one database behave as one
//! server because every shared decision is made by the database, never in one process.
//!
//! - **Refresh rotation** is one conditional `UPDATE … WHERE used_at IS NULL … RETURNING`.
//!   Under READ COMMITTED a second UPDATE of the same row waits for the first to commit,
//!   re-checks its WHERE clause on the new row version and matches nothing: of concurrent
//!   presentations on any number of instances exactly one wins; the others see a used
//!   token and revoke the family (RFC 9700 §4.14.2), as on SQLite.
//! - **Throttle counters** are one `INSERT … ON CONFLICT DO UPDATE … RETURNING` each; lock
//!   deadlines only grow (`GREATEST`); the jti denylist is an upsert.
//! - **Migrations and first start** (first signing key, first-party client, administrator)
//!   run under a session advisory lock held on a dedicated connection, so instances
//!   starting together on an empty database take turns ([`Store::startup_lock`]).
//! - **Operations**: pool size and acquire timeout from the configuration, a
//!   `statement_timeout` on every pooled connection, transient failures retried where
//!   that is safe ([`retry`]), everything else that means "the database cannot serve"
//!   surfaced as [`StoreError::Unavailable`] (503).
//!
//! Postgres `TEXT` cannot hold U+0000, which SQLite stores: lookups by a name or id that
//! contains it find nothing (it cannot have been stored), throttle keys containing it are
//! stored encoded, and audit fields have it replaced. A description containing it is
//! refused as an internal error.

mod retry;
mod rows;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgTransactionManager};
use sqlx::{Connection as _, Row, TransactionManager as _};
use uuid::Uuid;

use self::retry::{Fail, Retry, map_err, run};
use self::rows::{
    CLIENT_COLUMNS, REFRESH_COLUMNS, ROLE_COLUMNS, USER_COLUMNS, audit_from, client_from, key_from,
    refresh_from, role_from, session_from, user_from,
};
use super::{
    AuditFilter, AuditRecord, Client, RefreshToken, Role, Rotation, ScopeDef, Session, StartupLock,
    Store, StoreError, StoredKey, User, UserChange, detached, join, like_prefix, takes_last_holder,
};

/// Pool and timeout settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PostgresSettings {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a pooled connection before failing as unavailable.
    pub acquire_timeout: Duration,
    /// The longest a single statement may run (`statement_timeout`).
    pub statement_timeout: Duration,
}

/// How long a starting instance waits for another one's migrations and first start.
const STARTUP_LOCK_WAIT: &str = "60s";

/// The session advisory lock that serialises migrations and first-start work across
/// instances ("rampart1" in ASCII; sqlx's migrator takes its own, different one inside).
const STARTUP_LOCK: i64 = 0x7261_6d70_6172_7431;
/// The advisory lock that serialises [`Store::change_user`] ("rampart2").
const USER_CHANGE_LOCK: i64 = 0x7261_6d70_6172_7432;

/// PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The URL's options without the statement timeout, for dedicated connections.
    options: PgConnectOptions,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://` or `postgresql://`); fails when the database cannot
    /// be reached now.
    pub async fn connect(url: &str, settings: PostgresSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid Postgres URL: {e}")))?
            .application_name("rampart");
        let statement_timeout = format!("{}ms", settings.statement_timeout.as_millis().max(1));
        let pooled = options
            .clone()
            .options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection that died while idle (database restart) is replaced, not used.
            .test_before_acquire(true)
            .after_release(|conn, _| Box::pin(release_outside_transaction(conn)))
            .connect_with(pooled)
            .await
            .map_err(map_err)?;
        Ok(Self { pool, options })
    }

    /// A connection outside the pool for holding the startup lock: no statement timeout
    /// (migrations may run long), a bounded wait for the lock instead.
    async fn dedicated(&self) -> Result<PgConnection, StoreError> {
        let options = self.options.clone().options([
            ("statement_timeout", "0"),
            ("lock_timeout", STARTUP_LOCK_WAIT),
            // Not "relation _sqlx_migrations already exists" on every start.
            ("client_min_messages", "warning"),
        ]);
        PgConnection::connect_with(&options).await.map_err(map_err)
    }
}

/// Rolls back a connection that comes back to the pool inside a transaction sqlx knows
/// of. The safety net behind [`detached`], which is what covers a transaction abandoned
/// while its `BEGIN` was in flight (sqlx does not count that one).
async fn release_outside_transaction(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::warn!("a pooled Postgres connection came back inside a transaction: rolling back");
        PgTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

/// Whether `s` can be stored in a Postgres `TEXT` column at all.
fn storable(s: &str) -> bool {
    !s.contains('\0')
}

/// Throttle keys are opaque: one containing U+0000 (a client id taken from a request)
/// is stored hex-encoded under a prefix no real key has.
fn throttle_key(key: &str) -> Cow<'_, str> {
    if storable(key) {
        return Cow::Borrowed(key);
    }
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    Cow::Owned(format!("nul:{hex}"))
}

/// Audit fields are a log, not identities: U+0000 becomes U+FFFD.
fn loggable(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(|s| {
        if storable(s) {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(s.replace('\0', "\u{fffd}"))
        }
    })
}

/// Audit events as column arrays, for one `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct AuditColumns {
    id: Vec<String>,
    at: Vec<i64>,
    kind: Vec<String>,
    actor: Vec<Option<String>>,
    subject: Vec<Option<String>>,
    client_id: Vec<Option<String>>,
    ip: Vec<Option<String>>,
    reason: Vec<Option<String>>,
    details: Vec<String>,
}

impl AuditColumns {
    fn push(&mut self, event: &AuditRecord) {
        let text = |s: Option<&str>| loggable(s).map(Cow::into_owned);
        self.id.push(event.id.to_string());
        self.at.push(event.at);
        self.kind.push(text(Some(&event.kind)).unwrap_or_default());
        self.actor.push(text(event.actor.as_deref()));
        self.subject.push(text(event.subject.as_deref()));
        self.client_id.push(text(event.client_id.as_deref()));
        self.ip.push(text(event.ip.as_deref()));
        self.reason.push(text(event.reason.as_deref()));
        self.details.push(event.details.to_string());
    }
}

/// `Err(NotFound)` when an UPDATE or DELETE matched no row.
fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.dedicated().await?;
        lock_startup(&mut conn).await?;
        let outcome = run_migrations(&mut conn).await;
        // Ending the session releases its advisory lock.
        let _ = conn.close().await;
        outcome
    }

    fn pool_stats(&self) -> Option<(u32, usize)> {
        Some((self.pool.size(), self.pool.num_idle()))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Not retried: readiness reports the database as it is.
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn startup_lock(&self) -> Result<StartupLock, StoreError> {
        let mut conn = self.dedicated().await?;
        lock_startup(&mut conn).await?;
        // Held until the connection is dropped: the session ends, the lock with it.
        Ok(StartupLock::holding(conn))
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let (pool, users) = (self.pool.clone(), vec![user.clone()]);
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn create_users(&self, users: &[User]) -> Result<(), StoreError> {
        let (pool, users) = (self.pool.clone(), users.to_vec());
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let id = id.to_string();
        let row = run(Retry::Idempotent, || {
            sqlx::query(&sql).bind(&id).fetch_optional(&self.pool)
        })
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        if !storable(username) {
            return Ok(None);
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query(&sql).bind(username).fetch_optional(&self.pool)
        })
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let prefix = prefix.unwrap_or("");
        if !storable(prefix) {
            return Ok(Vec::new());
        }
        // No stored username contains U+0000, so `> "ab\0…"` is `> "ab"`.
        let after = after.unwrap_or("").split('\0').next().unwrap_or("");
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username LIKE $1 ESCAPE '\\' AND u.username > $2 \
             ORDER BY u.username LIMIT $3"
        );
        let pattern = like_prefix(prefix);
        let rows = run(Retry::Idempotent, || {
            sqlx::query(&sql)
                .bind(&pattern)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(user_from).collect()
    }

    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        keep: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        if !storable(keep) {
            return Err(StoreError::Internal("a role name with a NUL".into()));
        }
        let (pool, id, keep) = (self.pool.clone(), id.to_string(), keep.to_owned());
        detached(async move { change_user_keeping(&pool, &id, &change, &keep, now).await }).await
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        changed_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        let done = run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2, \
                 password_changed_at = COALESCE($3, password_changed_at), \
                 tokens_valid_after = GREATEST(tokens_valid_after, COALESCE($3, tokens_valid_after)) \
                 WHERE id = $4",
            )
            .bind(hash)
            .bind(now)
            .bind(changed_at)
            .bind(&id)
            .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError> {
        if !storable(role) {
            return Ok(0);
        }
        let n: i64 = run(Retry::Idempotent, || {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
                 WHERE r.role = $1 AND NOT u.disabled",
            )
            .bind(role)
            .fetch_one(&self.pool)
        })
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError> {
        let rows = run(Retry::Idempotent, || {
            sqlx::query("SELECT name, description, is_default FROM scopes ORDER BY name")
                .fetch_all(&self.pool)
        })
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScopeDef {
                    name: r.try_get("name").map_err(map_err)?,
                    description: r.try_get("description").map_err(map_err)?,
                    is_default: r.try_get("is_default").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "INSERT INTO scopes (name, description, is_default) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, is_default = EXCLUDED.is_default",
            )
            .bind(&scope.name)
            .bind(&scope.description)
            .bind(scope.is_default)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn delete_scope(&self, name: &str) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM scopes WHERE name = $1")
                .bind(name)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r ORDER BY r.name");
        let rows = run(Retry::Idempotent, || {
            sqlx::query(&sql).fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(role_from).collect()
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        if !storable(name) {
            return Ok(None);
        }
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.name = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query(&sql).bind(name).fetch_optional(&self.pool)
        })
        .await?;
        row.as_ref().map(role_from).transpose()
    }

    async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        let (pool, role) = (self.pool.clone(), role.clone());
        detached(async move { insert_role(&pool, &role).await }).await
    }

    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let (pool, name, scopes) = (self.pool.clone(), name.to_owned(), scopes.to_vec());
        detached(async move { replace_role_scopes(&pool, &name, &scopes).await }).await
    }

    async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM roles WHERE name = $1")
                .bind(name)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let (grants, scopes) = (join(&client.grants), join(&client.scopes));
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO clients (id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&client.id)
            .bind(&client.name)
            .bind(client.confidential)
            .bind(&client.secret_hash)
            .bind(&grants)
            .bind(&scopes)
            .bind(&client.audience)
            .bind(client.disabled)
            .bind(client.created_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query(&sql).bind(id).fetch_optional(&self.pool)
        })
        .await?;
        row.as_ref().map(client_from).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY id");
        let rows = run(Retry::Idempotent, || {
            sqlx::query(&sql).fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(client_from).collect()
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::Idempotent, || {
            sqlx::query("UPDATE clients SET disabled = $1 WHERE id = $2")
                .bind(disabled)
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let scopes = join(scopes);
        let done = run(Retry::Idempotent, || {
            sqlx::query("UPDATE clients SET scopes = $1 WHERE id = $2")
                .bind(&scopes)
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError> {
        run(Retry::RolledBack, || {
            insert_refresh(&self.pool, token, hash)
        })
        .await
    }

    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query(&sql).bind(hash).fetch_optional(&self.pool)
        })
        .await?;
        row.as_ref().map(refresh_from).transpose()
    }

    async fn rotate_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
    ) -> Result<Rotation, StoreError> {
        if !storable(client_id) {
            return Ok(Rotation::Invalid);
        }
        let pool = self.pool.clone();
        let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
        let (next, next_hash) = (next.clone(), next_hash.to_vec());
        detached(async move { rotate(&pool, &hash, &client_id, &next, &next_hash, now).await })
            .await
    }

    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let family_id = family_id.to_string();
        // Not retried after a lost connection: the count decides 204 vs 404.
        let done = run(Retry::RolledBack, || {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&family_id)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let user_id = user_id.to_string();
        // One statement: the stamp and the revocations commit together.
        let done = run(Retry::RolledBack, || {
            sqlx::query(
                "WITH stamp AS (UPDATE users SET tokens_valid_after = GREATEST(tokens_valid_after, $1) \
                 WHERE id = $2) \
                 UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&user_id)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows = run(Retry::Idempotent, || {
            sqlx::query(
                "SELECT family_id, MAX(revoked_at) AS revoked_at FROM refresh_tokens \
                 WHERE revoked_at >= $1 GROUP BY family_id",
            )
            .bind(since)
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter()
            .map(|r| {
                let family: String = r.try_get("family_id").map_err(map_err)?;
                let family = Uuid::parse_str(&family)
                    .map_err(|_| StoreError::Internal("a stored id is not a UUID".into()))?;
                Ok((family, r.try_get("revoked_at").map_err(map_err)?))
            })
            .collect()
    }

    async fn access_epoch(&self) -> Result<i64, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query_scalar("SELECT n FROM access_epoch WHERE id = 1").fetch_one(&self.pool)
        })
        .await
    }

    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let user_id = user_id.map(|u| u.to_string());
        // A live session is a family with a current (unused, unrevoked, unexpired) token.
        let rows = run(Retry::Idempotent, || {
            sqlx::query(
                "SELECT t.family_id, t.user_id, u.username, t.client_id, t.scope, t.expires_at, t.created_at AS last_used_at, \
                 (SELECT MIN(created_at) FROM refresh_tokens f WHERE f.family_id = t.family_id) AS created_at \
                 FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $1 AND t.idle_expires_at > $1 \
                 AND ($2::text IS NULL OR t.user_id = $2) ORDER BY t.created_at DESC",
            )
            .bind(now)
            .bind(&user_id)
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(session_from).collect()
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = run(Retry::Idempotent, || {
            sqlx::query(
                "SELECT kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until \
                 FROM signing_keys ORDER BY activates_at, kid",
            )
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(key_from).collect()
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed_key)
            .bind(key.created_at)
            .bind(key.activates_at)
            .bind(key.retired_at)
            .bind(key.publish_until)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE kid = $3 AND retired_at IS NULL",
            )
            .bind(retired_at)
            .bind(publish_until)
            .bind(kid)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn throttle_locks(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        let stored: Vec<String> = keys.iter().map(|k| throttle_key(k).into_owned()).collect();
        let rows = run(Retry::Idempotent, || {
            sqlx::query("SELECT key, locked_until FROM login_throttle WHERE key = ANY($1)")
                .bind(&stored)
                .fetch_all(&self.pool)
        })
        .await?;
        let mut locks = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let key: String = row.try_get("key").map_err(map_err)?;
            let until: i64 = row.try_get("locked_until").map_err(map_err)?;
            locks.insert(key, until);
        }
        Ok(keys
            .iter()
            .zip(&stored)
            .filter_map(|(key, stored)| locks.get(stored).map(|until| (key.clone(), *until)))
            .collect())
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_before: i64,
    ) -> Result<u32, StoreError> {
        let key = throttle_key(key);
        // One statement: concurrent failures on any instance each count. Retried only
        // after a rollback, so a lost connection never counts one failure twice.
        let failures: i64 = run(Retry::RolledBack, || {
            sqlx::query_scalar(
                "INSERT INTO login_throttle AS t (key, failures, locked_until, last_failure_at) VALUES ($1, 1, 0, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN t.last_failure_at < $3 THEN 1 ELSE t.failures + 1 END, \
                   locked_until = CASE WHEN t.last_failure_at < $3 THEN 0 ELSE t.locked_until END, \
                   last_failure_at = GREATEST(t.last_failure_at, EXCLUDED.last_failure_at) \
                 RETURNING failures",
            )
            .bind(key.as_ref())
            .bind(now)
            .bind(reset_before)
            .fetch_one(&self.pool)
        })
        .await?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn lock_until(&self, key: &str, until: i64) -> Result<(), StoreError> {
        let key = throttle_key(key);
        run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE login_throttle SET locked_until = GREATEST(locked_until, $1) WHERE key = $2",
            )
            .bind(until)
            .bind(key.as_ref())
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = throttle_key(key);
        run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(key.as_ref())
                .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn purge_throttle(&self, now: i64, reset_before: i64) -> Result<u64, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "DELETE FROM login_throttle WHERE last_failure_at < $1 AND locked_until <= $2",
            )
            .bind(reset_before)
            .bind(now)
            .execute(&self.pool)
        })
        .await
        .map(|r| r.rows_affected())
    }

    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        self.append_audit_batch(std::slice::from_ref(event)).await
    }

    async fn append_audit_batch(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement over column arrays: the same text for any number of events.
        let mut columns = AuditColumns::default();
        for event in events {
            columns.push(event);
        }
        let columns = &columns;
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO audit_events (id, at, kind, actor, subject, client_id, ip, reason, details) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[])",
            )
            .bind(&columns.id)
            .bind(&columns.at)
            .bind(&columns.kind)
            .bind(&columns.actor)
            .bind(&columns.subject)
            .bind(&columns.client_id)
            .bind(&columns.ip)
            .bind(&columns.reason)
            .bind(&columns.details)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let unstorable = [&filter.kind, &filter.actor, &filter.subject]
            .into_iter()
            .flatten()
            .any(|s| !storable(s));
        if unstorable {
            return Ok(Vec::new());
        }
        let (before_at, before_id) = match before {
            Some((at, id)) => (Some(at), Some(id.to_string())),
            None => (None, None),
        };
        let rows = run(Retry::Idempotent, || {
            sqlx::query(
                "SELECT id, at, kind, actor, subject, client_id, ip, reason, details FROM audit_events \
                 WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR actor = $2) \
                 AND ($3::text IS NULL OR subject = $3) \
                 AND ($4::bigint IS NULL OR at >= $4) AND ($5::bigint IS NULL OR at < $5) \
                 AND ($6::bigint IS NULL OR at < $6 OR (at = $6 AND id < $7)) \
                 ORDER BY at DESC, id DESC LIMIT $8",
            )
            .bind(&filter.kind)
            .bind(&filter.actor)
            .bind(&filter.subject)
            .bind(filter.since)
            .bind(filter.until)
            .bind(before_at)
            .bind(&before_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
        })
        .await?;
        rows.iter().map(audit_from).collect()
    }

    async fn purge_audit(&self, before: i64) -> Result<u64, StoreError> {
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM audit_events WHERE at < $1")
                .bind(before)
                .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "INSERT INTO revoked_jti (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_jti.expires_at, EXCLUDED.expires_at)",
            )
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM revoked_jti WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
        })
        .await?;
        let rows = run(Retry::Idempotent, || {
            sqlx::query("SELECT jti, expires_at FROM revoked_jti WHERE expires_at > $1")
                .bind(now)
                .fetch_all(&self.pool)
        })
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("jti").map_err(map_err)?,
                    r.try_get("expires_at").map_err(map_err)?,
                ))
            })
            .collect()
    }
}

/// Waits (up to the dedicated connection's `lock_timeout`) for the startup lock.
async fn lock_startup(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(STARTUP_LOCK)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(map_err)
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs the migrations on `conn` (which holds the startup lock). `run_direct` rather than
/// `run`: sqlx's own workaround for `run`'s `Acquire` bound, which fails the higher-ranked
/// `Send` check inside `#[async_trait]`.
async fn run_migrations(conn: &mut PgConnection) -> Result<(), StoreError> {
    MIGRATOR
        .run_direct(conn)
        .await
        .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
}

/// Inserts `users` with their roles, all or none (one transaction).
async fn insert_users(pool: &PgPool, users: &[User]) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        for user in users {
            insert_user(&mut tx, user).await?;
        }
        tx.commit().await
    })
    .await
}

/// [`Store::change_user`]. Under READ COMMITTED two transactions could each count the
/// other's holder before either commits; the transaction-scoped advisory lock makes
/// guarded changes run one at a time, and each statement after it sees what the previous
/// one committed.
async fn change_user_keeping(
    pool: &PgPool,
    id: &str,
    change: &UserChange,
    keep: &str,
    now: i64,
) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(USER_CHANGE_LOCK)
            .execute(&mut *tx)
            .await?;
        let held: Option<bool> = sqlx::query_scalar(
            "SELECT NOT u.disabled AND EXISTS \
             (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $2) \
             FROM users u WHERE u.id = $1 FOR UPDATE",
        )
        .bind(id)
        .bind(keep)
        .fetch_optional(&mut *tx)
        .await?;
        let held = held.ok_or(StoreError::NotFound)?;
        match change {
            UserChange::Roles(roles) => {
                stamp_user(&mut tx, id, now, None).await?;
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                insert_roles(&mut tx, id, roles).await?;
            }
            UserChange::Disabled(disabled) => stamp_user(&mut tx, id, now, Some(*disabled)).await?,
            UserChange::Delete => {
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let holders: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
             WHERE r.role = $1 AND NOT u.disabled",
        )
        .bind(keep)
        .fetch_one(&mut *tx)
        .await?;
        if takes_last_holder(held, u64::try_from(holders).unwrap_or(0)) {
            tx.rollback().await?;
            return Err(Fail::Store(StoreError::LastHolder));
        }
        Ok::<_, Fail>(tx.commit().await?)
    })
    .await
}

/// Voids the user's earlier access tokens (and sets `disabled` when given).
async fn stamp_user(
    conn: &mut PgConnection,
    id: &str,
    now: i64,
    disabled: Option<bool>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET disabled = COALESCE($1, disabled), updated_at = $2, \
         tokens_valid_after = GREATEST(tokens_valid_after, $2) WHERE id = $3",
    )
    .bind(disabled)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await
    .map(|_| ())
}

async fn insert_role(pool: &PgPool, role: &Role) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO roles (name, description) VALUES ($1, $2)")
            .bind(&role.name)
            .bind(&role.description)
            .execute(&mut *tx)
            .await?;
        insert_role_scopes(&mut tx, &role.name, &role.scopes).await?;
        tx.commit().await
    })
    .await
}

async fn replace_role_scopes(
    pool: &PgPool,
    name: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        // FOR UPDATE: a concurrent change of the same role waits, then sees ours.
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM roles WHERE name = $1 FOR UPDATE")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(Fail::Store(StoreError::NotFound));
        }
        sqlx::query("DELETE FROM role_scopes WHERE role = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        insert_role_scopes(&mut tx, name, scopes).await?;
        Ok(tx.commit().await?)
    })
    .await
}

/// [`Store::rotate_refresh`] in one transaction.
async fn rotate(
    pool: &PgPool,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Rotation, StoreError> {
    let rotate = format!(
        "UPDATE refresh_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $1 AND idle_expires_at > $1 RETURNING {REFRESH_COLUMNS}"
    );
    let lookup = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    let (rotate, lookup) = (&rotate, &lookup);
    // Retried only after a rollback: a lost connection after a committed rotation
    // must not turn into a second presentation (which would revoke the family).
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        // The decision: one conditional UPDATE. A concurrent presentation blocks on
        // the row lock, then re-checks `used_at IS NULL` against our committed row.
        let won = sqlx::query(rotate)
            .bind(now)
            .bind(hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = won {
            let old = refresh_from(&row)?;
            let next = RefreshToken {
                family_id: old.family_id,
                expires_at: old.expires_at,
                ..next.clone()
            };
            insert_refresh(&mut *tx, &next, next_hash).await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated(old));
        }
        let found = sqlx::query(lookup)
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = found else {
            return Ok(Rotation::Invalid);
        };
        let old = refresh_from(&row)?;
        // RFC 9700 §4.14.2: a rotated token presented again means it leaked; revoke
        // the family (including the token that replaced it).
        if old.used_at.is_some() && old.client_id == client_id {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(old.family_id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Rotation::Reused {
                family_id: old.family_id,
                user_id: old.user_id,
            });
        }
        Ok::<_, Fail>(Rotation::Invalid)
    })
    .await
}

/// Inserts `user` with their roles (inside the caller's transaction).
async fn insert_user(conn: &mut PgConnection, user: &User) -> Result<(), sqlx::Error> {
    let id = user.id.to_string();
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&user.username)
    .bind(&user.password_hash)
    .bind(user.disabled)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.password_changed_at)
    .execute(&mut *conn)
    .await?;
    insert_roles(conn, &id, &user.roles).await
}

/// Links `user_id` to each role in one statement (an unknown role is a foreign-key
/// violation, a repeated one a conflict, as on SQLite).
async fn insert_roles(
    conn: &mut PgConnection,
    user_id: &str,
    roles: &[String],
) -> Result<(), sqlx::Error> {
    if roles.is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[])")
        .bind(user_id)
        .bind(roles)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Grants `scopes` to `role` in one statement.
async fn insert_role_scopes(
    conn: &mut PgConnection,
    role: &str,
    scopes: &[String],
) -> Result<(), sqlx::Error> {
    if scopes.is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO role_scopes (role, scope) SELECT $1, unnest($2::text[])")
        .bind(role)
        .bind(scopes)
        .execute(conn)
        .await
        .map(|_| ())
}

async fn insert_refresh<'e, E>(
    executor: E,
    token: &RefreshToken,
    hash: &[u8],
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(token.id.to_string())
    .bind(hash)
    .bind(token.family_id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.client_id)
    .bind(&token.scope)
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.idle_expires_at)
    .execute(executor)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{loggable, throttle_key};

    #[test]
    fn throttle_keys_with_nul_are_encoded_injectively() {
        assert_eq!(throttle_key("client:abc"), "client:abc");
        assert_eq!(throttle_key("client:a\0"), "nul:636c69656e743a6100");
        assert_ne!(throttle_key("client:a\0"), throttle_key("client:a\0\0"));
    }

    #[test]
    fn audit_fields_lose_only_nul() {
        assert_eq!(loggable(Some("a\0b")).as_deref(), Some("a\u{fffd}b"));
        assert_eq!(loggable(Some("ab")).as_deref(), Some("ab"));
        assert_eq!(loggable(None), None);
    }
}
