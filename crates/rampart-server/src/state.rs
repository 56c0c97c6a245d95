//! What every handler can reach, narrowed per handler with `FromRef`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::FromRef;
use rampart::Validator;
use rampart::token::RevocationList;

use crate::accounts::Accounts;
use crate::accounts::login::Login;
use crate::accounts::throttle::{LoginRate, Throttle};
use crate::audit::Audit;
use crate::keys::Keys;
use crate::store::{RevocationStore, Store, StoreError};

/// Token settings derived from the configuration.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// The public URL: token issuer, and default audience.
    pub issuer: String,
    /// Access-token lifetime, seconds.
    pub access_ttl: i64,
    /// Absolute refresh-token family lifetime, seconds.
    pub refresh_ttl: i64,
    /// Refresh-token idle lifetime, seconds.
    pub refresh_idle_ttl: i64,
    /// Seconds after a rotation during which the rotated token still gets a successor
    /// (0: never).
    pub refresh_reuse_grace: i64,
    /// Browser-session idle lifetime, seconds.
    pub session_idle_ttl: i64,
    /// Browser-session absolute lifetime, seconds.
    pub session_ttl: i64,
}

/// Validators that accept this server's tokens for any audience (introspection and
/// revocation must understand tokens minted for other resource servers).
#[derive(Clone, Debug)]
pub struct AnyAudience {
    /// Also checks the token's session and user as they are now (introspection answers
    /// `active` only for a token this server would accept).
    pub checked: Validator,
    /// Signature and claims policy only: revocation denylists a token whatever its
    /// state, so that a token void today (its role lost a scope) cannot come back.
    pub signed: Validator,
}

/// Validates `id_token_hint`s: this server's ID tokens (`typ: JWT`, RS256, its issuer),
/// for any audience.
#[derive(Clone, Debug)]
pub struct IdHints(pub Validator);

/// The shared application state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub accounts: Accounts,
    pub keys: Keys,
    pub validator: Validator,
    pub any_audience: AnyAudience,
    pub settings: Arc<TokenSettings>,
    pub denylist: Arc<Denylist>,
    pub throttle: Throttle,
    pub audit: Audit,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub login_rate: LoginRate,
    pub login: Login,
    /// Validates `id_token_hint` (this server's ID tokens).
    pub id_hints: IdHints,
    /// The store itself, for start-up, the background maintenance and the tests. No
    /// handler can extract it (`skip`): handlers reach the store through the rules over
    /// it (`Accounts`, `Login`, `Throttle`, `Audit`, `Keys`).
    #[from_ref(skip)]
    pub store: Arc<dyn Store>,
}

/// Revoked access-token ids (RFC 7009), mirrored in memory from the store so every
/// validation can check it without I/O.
#[derive(Debug, Default)]
pub struct Denylist {
    entries: RwLock<HashMap<String, i64>>,
}

impl Denylist {
    /// Adds a revoked `jti` until `expires_at`.
    pub fn insert(&self, jti: String, expires_at: i64) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(jti, expires_at);
    }

    /// Merges the store's list into the mirror and drops expired entries. Merging, not
    /// replacing: a revocation made here while the store was being read is kept (a
    /// revocation is never undone).
    pub async fn reload(&self, store: &dyn RevocationStore, now: i64) -> Result<(), StoreError> {
        let fresh = store.revoked_jtis(now).await?;
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.extend(fresh);
        entries.retain(|_, expires_at| *expires_at > now);
        Ok(())
    }
}

impl RevocationList for Denylist {
    fn is_revoked(&self, jti: &str) -> bool {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(jti)
    }
}
