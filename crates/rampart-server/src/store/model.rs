//! What the store holds, as the rest of the server sees it (no SQL types here: the rows
//! the backends decode are in `rows.rs`).

use uuid::Uuid;

/// A change to one user that can take a role away from them ([`UserStore::change_user`](super::UserStore::change_user)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Replace the user's roles with these (sorted, no duplicates).
    Roles(Vec<String>),
    /// Disable (`true`) or enable the user.
    Disabled(bool),
    /// Delete the user; their refresh tokens and role grants go with them.
    Delete,
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
    /// What OpenID Connect calls the standard claims of the user.
    pub profile: Profile,
}

/// A user's display name and email (OpenID Connect Core §5.1: `name`, `email`,
/// `email_verified`). `email_verified` is the operator's statement; it is false without
/// an email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
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
    /// Where authorization responses may go (exact strings; see `oauth::redirect_uri`).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards (exact strings).
    pub post_logout_redirect_uris: Vec<String>,
    /// Trusted by the operator: the user is not asked for consent.
    pub first_party: bool,
    /// How the client authenticates at the token, revocation and introspection endpoints.
    pub auth_method: AuthMethod,
    /// This client's access-token lifetime in seconds (`None`: the server's).
    pub access_token_ttl: Option<u32>,
    /// This client's refresh-token (session) lifetime in seconds (`None`: the server's).
    pub refresh_token_ttl: Option<u32>,
    /// RP-initiated logout of a browser session also revokes the refresh-token sessions
    /// this client got through it.
    pub logout_revokes_tokens: bool,
}

/// A client's `token_endpoint_auth_method` (RFC 7591 §2): the one way it may
/// authenticate. Confidential clients use one of the two secret methods, public ones
/// `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    /// Every method, in the order the discovery documents list them.
    pub const ALL: [Self; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// The method of that RFC 7591 name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// What a client gets when it names none: Basic for a confidential client (the
    /// method RFC 6749 §2.3.1 requires servers to support), `none` for a public one.
    pub fn default_for(confidential: bool) -> Self {
        if confidential {
            Self::ClientSecretBasic
        } else {
            Self::None
        }
    }
}

/// A change to one client, written as one statement (`None`: leave as is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientChange {
    pub disabled: Option<bool>,
    pub grants: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub logout_revokes_tokens: Option<bool>,
    pub auth_method: Option<AuthMethod>,
    /// `Some(None)`: back to the server's lifetime.
    pub access_token_ttl: Option<Option<u32>>,
    pub refresh_token_ttl: Option<Option<u32>>,
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

/// What [`RefreshStore::rotate_if_current`](super::RefreshStore::rotate_if_current)
/// did. The store decides nothing more: whether a token that was not current means reuse
/// is decided above it (`accounts::rotation`).
#[derive(Debug)]
pub enum RotateOutcome {
    /// The token was current; it is now used and the successor replaces it. Holds the
    /// token, marked used.
    Rotated(RefreshToken),
    /// Nothing changed: the token is not current (used, revoked, expired, or bound to
    /// another client). Holds the stored row, if there is one.
    NotCurrent(Option<RefreshToken>),
}

/// What a guarded change did to the holders of the guarded role, counted inside the
/// change's serialising transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holders {
    /// The changed user held the role, enabled, before the change.
    pub held_before: bool,
    /// Enabled users holding the role after the change.
    pub after: u64,
}

/// The guard of [`UserStore::change_user`](super::UserStore::change_user): the role to
/// keep and the rule deciding, from the [`Holders`] the backend counted, whether the
/// change is refused.
///
/// The rule is passed in rather than written in the backends so that it exists once
/// (`accounts::last_admin`): a backend runs the SQL (lock, change, count) and calls
/// `refuses`, nothing else, and two backends cannot decide differently. The count has to
/// happen inside the transaction (two admins demoting each other at once), which is why
/// the rule travels down instead of the counts travelling up.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    /// The role that must keep an enabled holder.
    pub role: &'a str,
    /// `true`: refuse the change ([`StoreError::LastHolder`](super::StoreError::LastHolder)), nothing changed.
    pub refuses: fn(Holders) -> bool,
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

/// A stored authorization code (never the code itself: its SHA-256 is the key), with what
/// the authorization request bound it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub client_id: String,
    pub user_id: Uuid,
    /// The `redirect_uri` of the authorization request, which the token request repeats.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    pub scope: String,
    /// OpenID Connect `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The browser session the user signed in with (the ID token's `sid`).
    pub browser_session: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// What its redemption issued (set with `used_at`): the session and the access token.
    pub redeemed: Option<Redemption>,
}

/// What one redemption of a code issued, to be revoked if the code comes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    /// The session (refresh-token family, and the access token's `sid`).
    pub family_id: Uuid,
    pub access_jti: String,
    pub access_expires_at: i64,
}

/// A signed-in browser (the session cookie's server side; the cookie value is stored only
/// as its SHA-256 digest). Times are seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// Public handle: the ID token's `sid`, the admin API's id.
    pub id: Uuid,
    pub user_id: Uuid,
    /// When the user last entered their password in it.
    pub auth_time: i64,
    pub created_at: i64,
    /// Last request seen (updated at most once a minute), for the idle lifetime.
    pub last_seen_at: i64,
    /// The absolute end.
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

/// What a user allowed a client (the union of what they consented to so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: Uuid,
    pub client_id: String,
    /// Sorted scope names.
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

/// The first refresh token of the session a code redemption starts, written with the
/// redemption itself (one transaction).
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub token: RefreshToken,
    /// The digest of the token's value.
    pub hash: Vec<u8>,
    /// The browser session whose code this is: linked so that its logout can end the
    /// token session (see `BrowserStore::families_of`).
    pub browser_session: Option<Uuid>,
}
