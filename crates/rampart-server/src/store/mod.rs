//! Persistence behind one trait, so handlers never know which database they run on.
//!
//! Every query uses bound parameters; `LIKE` patterns are escaped (see [`like_prefix`]).

mod postgres;
mod sqlite;

use std::future::Future;

use async_trait::async_trait;
use uuid::Uuid;

pub use postgres::{PostgresSettings, PostgresStore};
pub use sqlite::SqliteStore;

/// A store failure. `Conflict` and `NotFound` are expected outcomes; `Unavailable` is a
/// database that cannot be reached (503); `Internal` is a bug or corruption (500, logged).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (duplicate username, role, client id).
    #[error("already exists")]
    Conflict,
    /// A referenced row does not exist (unknown role or scope in a list).
    #[error("a referenced entity does not exist")]
    MissingReference,
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// Refused, nothing changed: no enabled user would hold the role kept
    /// ([`Store::change_user`]).
    #[error("the change would leave no enabled holder of the role")]
    LastHolder,
    /// The database cannot be reached or is overloaded.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("database error: {0}")]
    Internal(String),
}

/// A change to one user that can take a role away from them ([`Store::change_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Replace the user's roles with these (sorted, no duplicates).
    Roles(Vec<String>),
    /// Disable (`true`) or enable the user.
    Disabled(bool),
    /// Delete the user; their refresh tokens and role grants go with them.
    Delete,
}

/// Whether a change takes a role from its last enabled holder: the changed user held it,
/// enabled, before, and no enabled user holds it after. Pure.
pub fn takes_last_holder(held_before: bool, holders_after: u64) -> bool {
    held_before && holders_after == 0
}

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
    /// Access tokens of this user issued in an earlier second are void (set on disable,
    /// role change, password change and when all sessions end).
    pub tokens_valid_after: i64,
    pub roles: Vec<String>,
}

/// A scope definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDef {
    pub name: String,
    pub description: String,
    pub is_default: bool,
}

/// A role: a name mapped to a set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub scopes: Vec<String>,
}

/// An OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub confidential: bool,
    /// SHA-256 of the secret (confidential clients only).
    pub secret_hash: Option<Vec<u8>>,
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
}

/// A stored refresh token (never the token itself: its SHA-256 is the lookup key).
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub idle_expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A refresh-token family as the admin API shows it (one login session).
#[derive(Debug, Clone)]
pub struct Session {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current; it is now used and `new` replaces it.
    Rotated(RefreshToken),
    /// The token had already been rotated: the family has been revoked.
    Reused { family_id: Uuid, user_id: Uuid },
    /// Unknown, expired, revoked, or bound to another client.
    Invalid,
}

/// A signing key as stored: the private key sealed with the master key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub sealed_key: Vec<u8>,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

/// One audit event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: Uuid,
    /// Seconds since the epoch.
    pub at: i64,
    /// What happened (`login_succeeded`, `login_failed`, `admin_change`, …).
    pub kind: String,
    /// Who did it: a user id, a client id, or `cli`.
    pub actor: Option<String>,
    /// What it was done to (a user id, a client id, a role, a kid, …).
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Internal reason (e.g. `unknown_user` vs `wrong_password`); never sent to the client
    /// that failed.
    pub reason: Option<String>,
    /// JSON details (before/after for admin changes).
    pub details: serde_json::Value,
}

/// Filters for reading the audit trail; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// Held while one instance does first-start work; dropping it releases the lock (for
/// Postgres: closes the dedicated connection holding a session advisory lock).
#[derive(Default)]
#[must_use = "the lock is released when this is dropped"]
pub struct StartupLock {
    _held: Option<Box<dyn Send>>,
}

impl StartupLock {
    /// A lock that lives as long as `held` (a guard, a connection).
    pub(crate) fn holding(held: impl Send + 'static) -> Self {
        Self {
            _held: Some(Box::new(held)),
        }
    }
}

/// Everything Rampart persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Runs pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Cheap liveness query for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Connection pool size and idle connections, for metrics.
    fn pool_stats(&self) -> Option<(u32, usize)> {
        None
    }
    /// Serialises first-start work (the first signing key, the first-party client, the
    /// bootstrap administrator) across instances sharing this database: held until the
    /// returned value is dropped. A store only one process can open needs none.
    async fn startup_lock(&self) -> Result<StartupLock, StoreError> {
        Ok(StartupLock::default())
    }

    // Users
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Creates all of `users` or none of them (one transaction).
    async fn create_users(&self, users: &[User]) -> Result<(), StoreError>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError>;
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Users ordered by username, after `after` (exclusive), whose username starts with
    /// `prefix` (matched literally).
    async fn list_users(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    /// Applies `change` to user `id` in one transaction, stamping `tokens_valid_after`
    /// with `now` (the user's earlier access tokens are void), serialised with every other
    /// `change_user` on this database. Refused with [`StoreError::LastHolder`], nothing
    /// changed, when the user held `keep` enabled before and no enabled user holds it
    /// after ([`takes_last_holder`]): two admins demoting each other at once cannot both
    /// succeed.
    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        keep: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Replaces the hash; `changed_at` is set for a real password change (not a rehash),
    /// which also voids the user's earlier access tokens (stamp `changed_at`).
    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        changed_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError>;

    // Scopes and roles
    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError>;
    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError>;
    /// Deletes a scope (and, by cascade, its place in every role); `NotFound` if absent.
    async fn delete_scope(&self, name: &str) -> Result<(), StoreError>;
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError>;
    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError>;
    async fn create_role(&self, role: &Role) -> Result<(), StoreError>;
    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError>;
    async fn delete_role(&self, name: &str) -> Result<(), StoreError>;

    // Clients
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    async fn set_client_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError>;
    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<(), StoreError>;
    async fn delete_client(&self, id: &str) -> Result<(), StoreError>;

    // Refresh tokens
    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError>;
    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError>;
    /// Atomically marks the token `hash` used (only if current, unexpired and bound to
    /// `client_id`) and inserts `next` in the same family with `next_hash`; if the token
    /// had already been used, revokes its family instead. One conditional UPDATE decides,
    /// so concurrent presentations yield exactly one `Rotated`.
    async fn rotate_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
    ) -> Result<Rotation, StoreError>;
    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError>;
    /// Ends every session of the user in one transaction: revokes their refresh tokens
    /// and voids their access tokens issued before `now` (the stamp). Returns how many
    /// refresh tokens were revoked.
    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError>;
    /// Sessions (refresh-token families) with a token revoked at or after `since`, with
    /// the latest such time: their access tokens must be refused.
    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError>;
    /// The change counter of access state (`access_epoch`): it moves with every change
    /// that can void tokens (kept by triggers).
    async fn access_epoch(&self) -> Result<i64, StoreError>;
    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError>;

    // Signing keys
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError>;

    // Brute-force throttling
    /// The lock deadline (0 if none) of each key that has failures on record, in the
    /// order of `keys` (one query).
    async fn throttle_locks(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError>;
    /// Counts one failure for `key` (restarting the count if the last failure is older than
    /// `reset_before`) and returns the new count.
    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_before: i64,
    ) -> Result<u32, StoreError>;
    /// Extends the lock of `key` to `until` (never shortens it).
    async fn lock_until(&self, key: &str, until: i64) -> Result<(), StoreError>;
    /// Forgets the failures of `key`.
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes the rows that no longer count: last failure before `reset_before` (the
    /// count would restart) and no lock after `now`. Returns how many.
    async fn purge_throttle(&self, now: i64, reset_before: i64) -> Result<u64, StoreError>;

    // Audit trail
    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError>;
    /// Stores all of `events` or none of them (one transaction); one INSERT for up to
    /// [`AUDIT_BATCH_ROWS`] events.
    async fn append_audit_batch(&self, events: &[AuditRecord]) -> Result<(), StoreError>;
    /// Newest first, strictly older than `before` (`(at, id)` of the last item seen).
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Deletes events older than `before`; returns how many.
    async fn purge_audit(&self, before: i64) -> Result<u64, StoreError>;

    // Access-token denylist (RFC 7009)
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError>;
}

/// Runs a transactional store operation on a task of its own and waits for it.
///
/// A request future can be dropped at any `.await` (client gone, request timeout). Dropped
/// between `BEGIN` and `COMMIT`, sqlx can hand the pooled connection back still inside the
/// transaction (sqlx #3932): on SQLite the next `BEGIN IMMEDIATE` on it fails and the
/// open transaction keeps the write lock; on Postgres the session stays "idle in
/// transaction" and what runs on it next commits or rolls back by chance. A spawned task
/// is not cancelled when its `JoinHandle` is dropped, so the transaction always reaches
/// its commit or rollback.
pub(crate) async fn detached<T, F>(work: F) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::Internal(format!("a database task did not finish: {e}")))?
}

/// Audit events stored by one INSERT (SQLite binds 9 parameters per row and allows
/// 32,766).
pub const AUDIT_BATCH_ROWS: usize = 500;

/// Escapes `%`, `_` and the escape character itself so user input matches literally in
/// `LIKE ? ESCAPE '\'`, then appends `%` for a prefix match.
pub fn like_prefix(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 1);
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Space-separated list encoding used for small string sets in one column.
pub(crate) fn join(items: &[String]) -> String {
    items.join(" ")
}

pub(crate) fn split(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_last_holder_table() {
        let cases = [
            ("an enabled holder demoted, others left", true, 1, false),
            ("the last enabled holder demoted", true, 0, true),
            (
                "not a holder before (already disabled or never held it)",
                false,
                0,
                false,
            ),
            ("not a holder, others hold it", false, 2, false),
        ];
        for (name, held_before, after, want) in cases {
            assert_eq!(super::takes_last_holder(held_before, after), want, "{name}");
        }
    }

    use super::like_prefix;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
        assert_eq!(like_prefix(""), "%");
    }
}
