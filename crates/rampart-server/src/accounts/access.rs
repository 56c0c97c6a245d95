//! Whether an access token this server issued still stands: its session not revoked, its
//! user still there and enabled, issued after the user's "tokens before T are void" stamp,
//! and every scope it carries still held through the user's current roles.
//!
//! A JWT is valid by its signature until `exp`; what happened since it was signed (the
//! user disabled, deleted or demoted, the password changed, the session ended) is server
//! state the signature cannot carry. The token server's own routes (`/users/me`, the
//! password change, the admin API) and introspection (RFC 7662) check that state for every
//! accepted token, on cache hits too, through the library's
//! [`TokenCheck`](rampart::token::TokenCheck) hook.
//!
//! It must cost an in-memory lookup per request, not a database read:
//! - **Revoked sessions** (refresh-token families, OIDC `sid`) are mirrored in memory: a
//!   revocation on this instance goes in at once, the others' arrive with the periodic
//!   reload (every 5 s), which merges (revocations are never undone, so a reload that
//!   read the database just before a local revocation cannot drop it). Only families
//!   revoked within the last access-token lifetime (plus leeway) are kept: older ones
//!   cannot have a live access token.
//! - **User state** (exists, enabled, stamp, held scopes) sits in a bounded cache, loaded
//!   on a miss. A change made through [`Accounts`](super::Accounts) invalidates the user
//!   (or, for a role's scopes, everyone) at once on this instance. Every change that
//!   matters also bumps a counter in the database (`access_epoch`, kept by triggers in the
//!   same transaction as the change, so the CLI and other instances cannot forget it);
//!   the reload flushes the cache when the counter moved.
//! - **Role scopes** (each role's scopes, which make a user's held scopes) are kept as
//!   one map, read again after any role or scope change here or an epoch move.
//! - **Clients** sit in a bounded cache the same way, for client authentication: every
//!   grant looks its client up, and a client changes rarely. A change through
//!   [`Accounts`](super::Accounts) forgets the client at once; the `clients` table's
//!   triggers bump `access_epoch` too, so the CLI's and other instances' changes (a
//!   client disabled, its scopes narrowed, deleted) arrive with the reload. Unknown ids
//!   are not cached: anyone can send them.
//! - A load that raced an invalidation is not kept: every invalidation advances a
//!   generation, and a loaded entry is inserted only if the generation did not move
//!   while it was read (checked again after the insert).
//!
//! The same-second case: `iat` has one-second resolution, so the stamp voids tokens
//! issued in a strictly earlier second. A token from the very second of the change is
//! still refused when it matters: disabling, a password change and "end all sessions"
//! revoke the user's sessions too (and every user token names its session), and a
//! demotion is caught by the held-scopes rule.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rampart::token::{CheckFuture, TokenCheck};
use rampart::{Claims, TokenError};
use uuid::Uuid;

use crate::clock::Clock;
use crate::store::{Client, Store, StoreError};

/// Users whose state is kept in memory at most.
const MAX_CACHED_USERS: u64 = 50_000;
/// A cached user is read again after this long even without a change signal: a bound on
/// staleness should a signal ever be missed.
const USER_TTL: Duration = Duration::from_secs(60);
/// Clients kept in memory at most.
const MAX_CACHED_CLIENTS: u64 = 10_000;

/// A user's state as far as their tokens are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    /// Disabled users have no valid tokens.
    pub disabled: bool,
    /// Tokens issued in an earlier second are void (`users.tokens_valid_after`).
    pub tokens_valid_after: i64,
    /// The scopes the user's current roles hold.
    pub held: BTreeSet<String>,
}

/// Each role's scopes, by role name.
type RoleScopes = HashMap<String, Vec<String>>;

/// Who a token speaks for, read from its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A client acting for itself (`client_credentials`: `sub` is the client id, no
    /// session).
    Client,
    /// A user, by id, in a session (`sid`) when the token came from a login.
    User { id: Uuid, session: Option<Uuid> },
}

/// Why a token that passed validation no longer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Void {
    /// `sub`/`sid` are not what this server puts in its tokens.
    Unrecognised,
    /// The session (refresh-token family) was revoked.
    SessionRevoked,
    /// The user no longer exists.
    UnknownUser,
    /// The user is disabled.
    Disabled,
    /// Issued before the user's stamp (password change, role change, disable, sessions
    /// ended).
    IssuedBeforeStamp,
    /// The token carries a scope the user's roles no longer hold.
    ScopeNoLongerHeld,
}

impl Void {
    /// A stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unrecognised => "unrecognised_subject",
            Self::SessionRevoked => "session_revoked",
            Self::UnknownUser => "unknown_user",
            Self::Disabled => "disabled",
            Self::IssuedBeforeStamp => "issued_before_stamp",
            Self::ScopeNoLongerHeld => "scope_no_longer_held",
        }
    }
}

/// Reads who a token is for. Pure.
pub fn holder(claims: &Claims) -> Result<Holder, Void> {
    let session = match claims.sid.as_deref() {
        Some(sid) => Some(Uuid::parse_str(sid).map_err(|_| Void::Unrecognised)?),
        None => None,
    };
    let sub = claims.sub.as_deref().ok_or(Void::Unrecognised)?;
    if session.is_none() && claims.client_id.as_deref() == Some(sub) {
        return Ok(Holder::Client);
    }
    let id = Uuid::parse_str(sub).map_err(|_| Void::Unrecognised)?;
    Ok(Holder::User { id, session })
}

/// Whether a user's token still stands: the decision, given what the server knows. Pure.
///
/// `user` is `None` for a user that does not exist; `session_revoked` says whether the
/// token's session is on the revoked list.
pub fn decide(
    iat: Option<i64>,
    scope: Option<&str>,
    session_revoked: bool,
    user: Option<&UserAccess>,
) -> Result<(), Void> {
    if session_revoked {
        return Err(Void::SessionRevoked);
    }
    let user = user.ok_or(Void::UnknownUser)?;
    if user.disabled {
        return Err(Void::Disabled);
    }
    // RFC 9068 §2.2 makes `iat` required; without it the token cannot be placed after
    // the stamp.
    let iat = iat.ok_or(Void::IssuedBeforeStamp)?;
    if iat < user.tokens_valid_after {
        return Err(Void::IssuedBeforeStamp);
    }
    let scopes = scope.unwrap_or("").split(' ').filter(|s| !s.is_empty());
    if scopes.into_iter().any(|s| !user.held.contains(s)) {
        return Err(Void::ScopeNoLongerHeld);
    }
    Ok(())
}

/// The state behind [`decide`], kept in memory; cloning shares it.
#[derive(Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clock,
    /// How long a revoked session is remembered: the access-token lifetime plus leeway.
    horizon: i64,
    /// Revoked sessions → when they were revoked.
    sessions: RwLock<HashMap<Uuid, i64>>,
    /// `None`: the user does not exist.
    users: moka::sync::Cache<Uuid, Option<Arc<UserAccess>>, foldhash::fast::RandomState>,
    /// Each role's scopes and when they were read (`None`: to be read).
    roles: RwLock<Option<(std::time::Instant, Arc<RoleScopes>)>>,
    /// Known clients by id (unknown ids are not kept).
    clients: moka::sync::Cache<String, Arc<Client>, foldhash::fast::RandomState>,
    /// Advanced by every invalidation (see the module docs).
    generation: AtomicU64,
    /// The database's `access_epoch` at the last reload (`i64::MIN`: not read yet).
    epoch: AtomicI64,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("horizon", &self.inner.horizon)
            .finish_non_exhaustive()
    }
}

impl Access {
    /// Access state over `store`; revoked sessions are remembered for `access_ttl` plus
    /// the validator's leeway and a margin.
    pub fn new(store: Arc<dyn Store>, clock: Clock, access_ttl: Duration) -> Self {
        let ttl = i64::try_from(access_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                horizon: ttl.saturating_add(120),
                sessions: RwLock::new(HashMap::new()),
                users: moka::sync::Cache::builder()
                    .max_capacity(MAX_CACHED_USERS)
                    .time_to_live(USER_TTL)
                    .build_with_hasher(foldhash::fast::RandomState::default()),
                roles: RwLock::new(None),
                clients: moka::sync::Cache::builder()
                    .max_capacity(MAX_CACHED_CLIENTS)
                    .time_to_live(USER_TTL)
                    .build_with_hasher(foldhash::fast::RandomState::default()),
                generation: AtomicU64::new(0),
                epoch: AtomicI64::new(i64::MIN),
            }),
        }
    }

    /// Records a session revoked on this instance (in the store already).
    pub fn session_revoked(&self, family: Uuid, at: i64) {
        self.inner
            .sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(family, at);
    }

    /// Forgets what is cached about `user` (after a change to them on this instance).
    pub fn user_changed(&self, user: Uuid) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.users.invalidate(&user);
    }

    /// Forgets every cached user and client (after a change to a role's scopes, or one
    /// made elsewhere).
    pub fn everyone_changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.users.invalidate_all();
        *self
            .inner
            .roles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.inner.clients.invalidate_all();
    }

    /// The scopes that `roles` hold, from the role map (read if need be).
    pub async fn held_by(&self, roles: &[String]) -> Result<BTreeSet<String>, StoreError> {
        let map = self.role_scopes().await?;
        Ok(roles
            .iter()
            .filter_map(|role| map.get(role))
            .flatten()
            .cloned()
            .collect())
    }

    async fn role_scopes(&self) -> Result<Arc<RoleScopes>, StoreError> {
        let cached = self
            .inner
            .roles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < USER_TTL)
            .map(|(_, map)| Arc::clone(map));
        if let Some(map) = cached {
            return Ok(map);
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let read_at = std::time::Instant::now();
        let map: Arc<RoleScopes> = Arc::new(
            self.inner
                .store
                .list_roles()
                .await?
                .into_iter()
                .map(|role| (role.name, role.scopes))
                .collect(),
        );
        let mut slot = self
            .inner
            .roles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Under the lock: an invalidation since the read began has already run (and
        // cleared the slot) or runs after this and clears what goes in.
        if self.inner.generation.load(Ordering::Acquire) == generation {
            *slot = Some((read_at, Arc::clone(&map)));
        }
        Ok(map)
    }

    /// Forgets what is cached about the client `id` (after a change to it here).
    pub fn client_changed(&self, id: &str) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.clients.invalidate(id);
    }

    /// The client `id`, from the cache or the store.
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if let Some(hit) = self.inner.clients.get(id) {
            return Ok(Some(Client::clone(&hit)));
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let Some(loaded) = self.inner.store.client(id).await? else {
            return Ok(None);
        };
        if self.inner.generation.load(Ordering::Acquire) == generation {
            self.inner
                .clients
                .insert(id.to_owned(), Arc::new(loaded.clone()));
            if self.inner.generation.load(Ordering::Acquire) != generation {
                self.inner.clients.invalidate(id);
            }
        }
        Ok(Some(loaded))
    }

    fn is_session_revoked(&self, family: Uuid) -> bool {
        self.inner
            .sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(&family)
    }

    /// The user's state, from the cache or the store.
    async fn user(&self, id: Uuid) -> Result<Option<Arc<UserAccess>>, StoreError> {
        if let Some(hit) = self.inner.users.get(&id) {
            return Ok(hit);
        }
        let generation = self.inner.generation.load(Ordering::Acquire);
        let loaded = self.load(id).await?;
        if self.inner.generation.load(Ordering::Acquire) == generation {
            self.inner.users.insert(id, loaded.clone());
            // An invalidation between the check and the insert must still win.
            if self.inner.generation.load(Ordering::Acquire) != generation {
                self.inner.users.invalidate(&id);
            }
        }
        Ok(loaded)
    }

    async fn load(&self, id: Uuid) -> Result<Option<Arc<UserAccess>>, StoreError> {
        let store = &self.inner.store;
        let Some(user) = store.user_by_id(id).await? else {
            return Ok(None);
        };
        let held = self.held_by(&user.roles).await?;
        Ok(Some(Arc::new(UserAccess {
            disabled: user.disabled,
            tokens_valid_after: user.tokens_valid_after,
            held,
        })))
    }

    /// Catches up with changes made elsewhere (other instances, the CLI): merges the
    /// sessions revoked within the horizon, forgets older ones, and flushes the user
    /// cache if the database's change counter moved.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let epoch = store.access_epoch().await?;
        let before = self.inner.epoch.swap(epoch, Ordering::AcqRel);
        if before != epoch && before != i64::MIN {
            self.everyone_changed();
        }
        let since = self.inner.clock.now().saturating_sub(self.inner.horizon);
        let revoked = store.revoked_sessions(since).await?;
        let mut sessions = self
            .inner
            .sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.extend(revoked);
        sessions.retain(|_, at| *at >= since);
        Ok(())
    }

    /// The decision for one token, with the state it needs.
    pub async fn verdict(&self, claims: &Claims) -> Result<Result<(), Void>, StoreError> {
        let (id, session) = match holder(claims) {
            Ok(Holder::Client) => return Ok(Ok(())),
            Ok(Holder::User { id, session }) => (id, session),
            Err(void) => return Ok(Err(void)),
        };
        let revoked = session.is_some_and(|s| self.is_session_revoked(s));
        // A revoked session needs no user state: decide without loading it.
        let user = if revoked { None } else { self.user(id).await? };
        Ok(decide(
            claims.iat,
            claims.scope.as_deref(),
            revoked,
            user.as_deref(),
        ))
    }
}

impl TokenCheck for Access {
    fn check<'a>(&'a self, claims: &'a Claims) -> CheckFuture<'a> {
        Box::pin(async move {
            match self.verdict(claims).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(void)) => {
                    tracing::debug!(
                        reason = void.code(),
                        "a token that no longer stands was refused"
                    );
                    Err(TokenError::Revoked)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read a token's user state");
                    Err(TokenError::CheckUnavailable)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(disabled: bool, stamp: i64, held: &[&str]) -> UserAccess {
        UserAccess {
            disabled,
            tokens_valid_after: stamp,
            held: held.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_token_stands_only_while_its_session_user_stamp_and_scopes_do() {
        let admin = user(false, 100, &["profile", "admin"]);
        let plain = user(false, 100, &["profile"]);
        let disabled = user(true, 100, &["profile", "admin"]);
        /// name, iat, scope, session revoked, user, expected.
        type Case<'a> = (
            &'a str,
            Option<i64>,
            Option<&'a str>,
            bool,
            Option<&'a UserAccess>,
            Result<(), Void>,
        );
        #[rustfmt::skip]
        let cases: [Case<'_>; 11] = [
            ("a fresh token of an enabled user", Some(150), Some("profile admin"), false, Some(&admin), Ok(())),
            ("a token from the second of the stamp", Some(100), Some("profile"), false, Some(&admin), Ok(())),
            ("a token without scopes", Some(150), None, false, Some(&plain), Ok(())),
            ("a revoked session", Some(150), Some("profile"), true, Some(&admin), Err(Void::SessionRevoked)),
            ("a revoked session of a deleted user", Some(150), Some("profile"), true, None, Err(Void::SessionRevoked)),
            ("a deleted user", Some(150), Some("profile"), false, None, Err(Void::UnknownUser)),
            ("a disabled user", Some(150), Some("profile"), false, Some(&disabled), Err(Void::Disabled)),
            ("a token from before the stamp", Some(99), Some("profile"), false, Some(&admin), Err(Void::IssuedBeforeStamp)),
            ("a token without iat", None, Some("profile"), false, Some(&admin), Err(Void::IssuedBeforeStamp)),
            ("admin after a demotion", Some(150), Some("profile admin"), false, Some(&plain), Err(Void::ScopeNoLongerHeld)),
            ("a scope the roles never held", Some(150), Some("notes:read"), false, Some(&admin), Err(Void::ScopeNoLongerHeld)),
        ];
        for (name, iat, scope, revoked, user, want) in cases {
            assert_eq!(decide(iat, scope, revoked, user), want, "{name}");
        }
    }

    #[test]
    fn the_holder_is_read_from_sub_sid_and_client_id() {
        let uid = Uuid::new_v4();
        let sid = Uuid::new_v4();
        let claims = |sub: Option<&str>, sid: Option<&str>, client: Option<&str>| {
            let mut c = Claims::default();
            c.sub = sub.map(str::to_owned);
            c.sid = sid.map(str::to_owned);
            c.client_id = client.map(str::to_owned);
            c
        };
        let (u, s) = (uid.to_string(), sid.to_string());
        #[rustfmt::skip]
        let cases: [(&str, Claims, Result<Holder, Void>); 7] = [
            ("a user in a session", claims(Some(&u), Some(&s), Some("c")), Ok(Holder::User { id: uid, session: Some(sid) })),
            ("a user token without a session", claims(Some(&u), None, Some("c")), Ok(Holder::User { id: uid, session: None })),
            ("a client for itself", claims(Some("c_1"), None, Some("c_1")), Ok(Holder::Client)),
            ("a client id with a session is not a client token", claims(Some("c_1"), Some(&s), Some("c_1")), Err(Void::Unrecognised)),
            ("a sub that is neither", claims(Some("alice"), None, Some("c")), Err(Void::Unrecognised)),
            ("no sub", claims(None, None, Some("c")), Err(Void::Unrecognised)),
            ("a sid that is not a session id", claims(Some(&u), Some("x"), Some("c")), Err(Void::Unrecognised)),
        ];
        for (name, claims, want) in cases {
            assert_eq!(holder(&claims), want, "{name}");
        }
    }
}
