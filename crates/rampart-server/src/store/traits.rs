//! The store's contract, split by entity: a service takes the part it uses
//! (`Arc<dyn AuditStore>`), and [`Store`] is all of them plus administration, for the
//! places that need everything.
//!
//! A backend implements these as SQL and nothing else: every rule about content (refresh
//! reuse, the last administrator, scope granting) is decided above the store, once.

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    AuditFilter, AuditRecord, AuthCode, BrowserSession, Client, ClientChange, Consent, Guard,
    Profile, Redemption, RefreshToken, Role, RotateOutcome, ScopeDef, Session, SessionStart,
    StartupLock, StoreError, StoredKey, User, UserChange,
};

/// User accounts and their roles.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
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
    /// `change_user` on this database. Inside that transaction the backend counts the
    /// [`Holders`](super::Holders) of `guard.role` and asks `guard.refuses`; refused:
    /// [`StoreError::LastHolder`], nothing changed. Two admins demoting each other at once
    /// cannot both succeed.
    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        guard: Guard<'_>,
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
    /// Replaces the user's profile (one statement); `NotFound` when there is no such user.
    async fn set_profile(&self, id: Uuid, profile: &Profile, now: i64) -> Result<(), StoreError>;
    /// Enabled users holding `role`.
    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError>;
}

/// Scopes, and roles mapping names to sets of them.
#[async_trait]
pub trait RoleStore: Send + Sync + 'static {
    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError>;
    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError>;
    /// Deletes a scope (and, by cascade, its place in every role); `NotFound` if absent.
    async fn delete_scope(&self, name: &str) -> Result<(), StoreError>;
    /// Roles ordered by name, scopes sorted.
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError>;
    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError>;
    async fn create_role(&self, role: &Role) -> Result<(), StoreError>;
    /// Replaces the scopes of a role; `NotFound` if absent.
    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError>;
    async fn delete_role(&self, name: &str) -> Result<(), StoreError>;
}

/// OAuth clients.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Clients ordered by id.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Applies `change` in one statement; `NotFound` when there is no such client.
    async fn update_client(&self, id: &str, change: &ClientChange) -> Result<(), StoreError>;
    async fn delete_client(&self, id: &str) -> Result<(), StoreError>;
}

/// Refresh tokens and the sessions (families) they form.
#[async_trait]
pub trait RefreshStore: Send + Sync + 'static {
    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError>;
    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError>;
    /// Atomically marks the token `hash` used, only if it is current (unused, unrevoked,
    /// unexpired at `now`) and bound to `client_id`, and inserts `next` with `next_hash`
    /// as its successor (same family, same absolute expiry). One conditional UPDATE
    /// decides, so of concurrent presentations exactly one gets `Rotated`; every other
    /// one gets `NotCurrent` with the stored row and nothing changed. What a token that
    /// is not current means (reuse?) is the caller's decision (`accounts::rotation`).
    async fn rotate_if_current(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
    ) -> Result<RotateOutcome, StoreError>;
    /// The reuse grace window (`accounts::rotation`): inserts `next` with `next_hash`
    /// into the family of token `hash`, beside its successor, only if that token is bound
    /// to `client_id`, was rotated at or after `used_since`, is unexpired at `now`, and no
    /// token of its family is revoked. `next` keeps the family's absolute expiry. Returns
    /// whether it was inserted. Ordered with [`Self::revoke_family`]: a revocation that
    /// commits first refuses the insert, one that commits after covers the new token.
    async fn add_successor(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        used_since: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Revokes every unrevoked token of a family; returns how many.
    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError>;
    /// Ends every session of the user in one transaction: revokes their refresh tokens
    /// and voids their access tokens issued before `now` (the stamp). Returns how many
    /// refresh tokens were revoked.
    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError>;
    /// Live sessions (families with a current token), newest first, of one user or all.
    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError>;
}

/// Signing keys, sealed.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Keys ordered by activation time, then kid.
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// Retires `kid` unless it is retired already (the first retirement stands).
    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError>;
}

/// Brute-force throttling counters.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
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
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError>;
    /// Stores all of `events` or none of them (one transaction); one INSERT for up to
    /// [`AUDIT_BATCH_ROWS`](super::AUDIT_BATCH_ROWS) events.
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
}

/// What voids access tokens before they expire: the RFC 7009 denylist, revoked
/// sessions, and the counter of every other such change.
#[async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// Denylists `jti` until `expires_at` (repeating it is no error).
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;
    /// Forgets the entries expired at `now` and returns the others.
    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError>;
    /// Sessions (refresh-token families) with a token revoked at or after `since`, with
    /// the latest such time: their access tokens must be refused.
    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError>;
    /// The change counter of access state (`access_epoch`): it moves with every change
    /// that can void tokens (kept by triggers).
    async fn access_epoch(&self) -> Result<i64, StoreError>;
}

/// Authorization codes (RFC 6749 §4.1).
#[async_trait]
pub trait CodeStore: Send + Sync + 'static {
    /// Stores a new code under `hash`.
    async fn insert_code(&self, code: &AuthCode, hash: &[u8]) -> Result<(), StoreError>;
    async fn code_by_hash(&self, hash: &[u8]) -> Result<Option<AuthCode>, StoreError>;
    /// Marks the code `hash` used at `now` with what its redemption issues, only if it is
    /// unused and unexpired (one conditional UPDATE: of concurrent redemptions exactly one
    /// gets `true`).
    async fn redeem_code(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// [`Self::redeem_code`] and, when it succeeds, `start` (the session's first refresh
    /// token, and its link to the browser session) in the same transaction.
    async fn redeem_code_starting(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
        start: &SessionStart,
    ) -> Result<bool, StoreError>;
    /// Deletes codes that expired before `before`; returns how many.
    async fn purge_codes(&self, before: i64) -> Result<u64, StoreError>;
}

/// Browser sessions (the login page's) and the consents users gave clients.
#[async_trait]
pub trait BrowserStore: Send + Sync + 'static {
    /// Stores a new session under `hash` (the digest of its cookie value).
    async fn insert_browser_session(
        &self,
        session: &BrowserSession,
        hash: &[u8],
    ) -> Result<(), StoreError>;
    async fn browser_session_by_hash(
        &self,
        hash: &[u8],
    ) -> Result<Option<BrowserSession>, StoreError>;
    async fn browser_session(&self, id: Uuid) -> Result<Option<BrowserSession>, StoreError>;
    /// Records activity at `now` (the idle lifetime counts from it).
    async fn touch_browser_session(&self, id: Uuid, now: i64) -> Result<(), StoreError>;
    /// Ends the session at `now`; `false` when it was unknown or already ended.
    async fn end_browser_session(&self, id: Uuid, now: i64) -> Result<bool, StoreError>;
    /// Ends every live session of `user_id`; returns how many.
    async fn end_user_browser_sessions(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError>;
    /// Sessions not ended whose absolute end is after `now`, newest first, optionally of
    /// one user.
    async fn list_browser_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<BrowserSession>, StoreError>;
    /// Deletes sessions that ended or expired before `before`.
    async fn purge_browser_sessions(&self, before: i64) -> Result<u64, StoreError>;
    async fn consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Consent>, StoreError>;
    /// Creates or replaces the consent of (`user_id`, `client_id`).
    async fn put_consent(&self, consent: &Consent) -> Result<(), StoreError>;
    /// The user's consents ordered by client id.
    async fn list_consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError>;
    /// `false` when there was none.
    async fn delete_consent(&self, user_id: Uuid, client_id: &str) -> Result<bool, StoreError>;
    /// The token sessions (family, client) browser session `session` started.
    async fn families_of(&self, session: Uuid) -> Result<Vec<(Uuid, String)>, StoreError>;
}

/// Everything Rampart persists, and the database's administration.
#[async_trait]
pub trait Store:
    UserStore
    + RoleStore
    + ClientStore
    + RefreshStore
    + KeyStore
    + ThrottleStore
    + AuditStore
    + RevocationStore
    + CodeStore
    + BrowserStore
{
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
}
