//! Signing keys: generated at first start, sealed at rest, rotated with a publication
//! delay, published as a JWKS until the last token they signed has expired.
//!
//! Rotation: `rotate()` stores a new key whose `activates_at` lies `rotation_delay` in the
//! future, and schedules the current key's retirement for that moment with
//! `publish_until = activates_at + access-token lifetime + leeway`. Until activation the
//! new key is only published (so caches of relying parties pick it up first); after
//! it, it signs; the old key stays in the JWKS until every token it signed has expired.
//! Every instance reloads the key table every [`RELOAD_EVERY`]; a rotation started by the
//! CLI or another instance is therefore seen within that delay.
//!
//! Two purposes share the ring: access tokens are signed with the configured algorithm,
//! ID tokens always with RS256 (OIDC Core §15.1: every relying party supports it). When
//! the configured algorithm is not RS256, the RS256 key is made at its first use (an
//! installation that never signs anyone in to a web app does not pay for RSA), published
//! at once, and rotated with the others.

pub mod seal;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use rampart::signing::{SigningKey, jwks_document};
use rampart::token::KeySetHandle;
use rampart::{Algorithm, KeySet};
use serde_json::Value;

pub use seal::{SealError, Sealer};

use crate::clock::Clock;
use crate::store::{KeyStore, StoreError, StoredKey};

/// How often keys are reloaded from the store.
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Why keys could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("signing key error: {0}")]
    Signing(String),
    #[error("no signing key is active")]
    NoActiveKey,
}

/// Key settings.
#[derive(Debug, Clone)]
pub struct KeySettings {
    /// Algorithm of newly generated keys.
    pub algorithm: Algorithm,
    /// Time between publishing a new key and signing with it.
    pub rotation_delay: Duration,
    /// Access-token lifetime (how long a retired key must stay published).
    pub access_token_ttl: Duration,
}

struct LoadedKey {
    key: SigningKey,
    activates_at: i64,
    retired_at: Option<i64>,
    publish_until: Option<i64>,
}

#[derive(Default)]
struct Ring {
    keys: Vec<LoadedKey>,
}

/// The signing-key ring shared by the token endpoint, the JWKS endpoint and the
/// server's own validator.
#[derive(Clone)]
pub struct Keys {
    store: Arc<dyn KeyStore>,
    sealer: Arc<Sealer>,
    clock: Clock,
    settings: KeySettings,
    ring: Arc<ArcSwap<Ring>>,
    handle: KeySetHandle,
    /// Serialises the lazy creation of the ID-token key within this instance.
    id_key_lock: Arc<tokio::sync::Mutex<()>>,
}

/// The algorithm of ID tokens (OIDC Core §15.1).
pub const ID_TOKEN_ALG: Algorithm = Algorithm::RS256;

fn context(kid: &str, alg: &str) -> String {
    format!("rampart-signing-key/{kid}/{alg}")
}

impl Keys {
    /// Loads the keys, generating the first one if the store has none.
    pub async fn load(
        store: Arc<dyn KeyStore>,
        sealer: Sealer,
        clock: Clock,
        settings: KeySettings,
    ) -> Result<Self, KeyError> {
        let keys = Self {
            store,
            sealer: Arc::new(sealer),
            clock,
            settings,
            ring: Arc::new(ArcSwap::from_pointee(Ring::default())),
            handle: KeySetHandle::new(KeySet::default()),
            id_key_lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        if keys.store.list_keys().await?.is_empty() {
            let now = keys.clock.now();
            keys.insert_new(now).await?;
        }
        keys.reload().await?;
        Ok(keys)
    }

    async fn insert_new(&self, activates_at: i64) -> Result<SigningKey, KeyError> {
        self.insert_new_of(self.settings.algorithm, activates_at)
            .await
    }

    async fn insert_new_of(
        &self,
        alg: Algorithm,
        activates_at: i64,
    ) -> Result<SigningKey, KeyError> {
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(|e| KeyError::Signing(e.to_string()))?
            .map_err(|e| KeyError::Signing(e.to_string()))?;
        let sealed = self
            .sealer
            .seal(&context(key.kid(), alg.as_str()), key.secret_bytes())?;
        self.store
            .insert_key(&StoredKey {
                kid: key.kid().to_owned(),
                alg: alg.as_str().to_owned(),
                sealed_key: sealed,
                created_at: self.clock.now(),
                activates_at,
                retired_at: None,
                publish_until: None,
            })
            .await?;
        Ok(key)
    }

    /// Re-reads the key table (rotation by the CLI or another instance).
    pub async fn reload(&self) -> Result<(), KeyError> {
        let stored = self.store.list_keys().await?;
        let current = self.ring.load();
        let mut keys = Vec::with_capacity(stored.len());
        for row in stored {
            // Reuse the already-unsealed key when nothing about it changed.
            let key = match current.keys.iter().find(|k| k.key.kid() == row.kid) {
                Some(k) => k.key.clone(),
                None => {
                    let alg: Algorithm = row
                        .alg
                        .parse()
                        .map_err(|_| KeyError::Signing(format!("unknown algorithm {}", row.alg)))?;
                    let secret = self
                        .sealer
                        .open(&context(&row.kid, &row.alg), &row.sealed_key)?;
                    SigningKey::from_secret(alg, secret, Some(row.kid.clone()))
                        .map_err(|e| KeyError::Signing(e.to_string()))?
                }
            };
            keys.push(LoadedKey {
                key,
                activates_at: row.activates_at,
                retired_at: row.retired_at,
                publish_until: row.publish_until,
            });
        }
        self.ring.store(Arc::new(Ring { keys }));
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        let now = self.clock.now();
        let ring = self.ring.load();
        let published = ring
            .keys
            .iter()
            .filter(|k| k.publish_until.is_none_or(|until| until > now))
            .map(|k| k.key.verifying_key());
        match KeySet::new(published) {
            Ok(set) => self.handle.replace(set),
            Err(e) => tracing::error!(%e, "signing keys could not be published"),
        }
    }

    /// Reloads periodically until the task is dropped.
    pub fn spawn_reloader(&self) -> tokio::task::JoinHandle<()> {
        let keys = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
                }
            }
        })
    }

    /// The key to sign access tokens with now: the most recently activated, unretired key
    /// of the configured algorithm.
    pub fn active(&self) -> Result<SigningKey, KeyError> {
        self.active_of(self.settings.algorithm)
            .ok_or(KeyError::NoActiveKey)
    }

    fn active_of(&self, alg: Algorithm) -> Option<SigningKey> {
        let now = self.clock.now();
        let ring = self.ring.load();
        ring.keys
            .iter()
            .filter(|k| {
                k.key.algorithm() == alg
                    && k.activates_at <= now
                    && k.retired_at.is_none_or(|r| r > now)
            })
            .max_by_key(|k| k.activates_at)
            .map(|k| k.key.clone())
    }

    /// The key to sign ID tokens with ([`ID_TOKEN_ALG`]), made and published now if there
    /// is none yet.
    pub async fn id_token_key(&self) -> Result<SigningKey, KeyError> {
        if let Some(key) = self.active_of(ID_TOKEN_ALG) {
            return Ok(key);
        }
        let _one = self.id_key_lock.lock().await;
        // Another instance may have made one meanwhile.
        self.reload().await?;
        if let Some(key) = self.active_of(ID_TOKEN_ALG) {
            return Ok(key);
        }
        let key = self.insert_new_of(ID_TOKEN_ALG, self.clock.now()).await?;
        self.reload().await?;
        tracing::info!(kid = key.kid(), "created the RS256 key for ID tokens");
        Ok(key)
    }

    /// The public JWKS document.
    pub fn jwks(&self) -> Value {
        let now = self.clock.now();
        let ring = self.ring.load();
        jwks_document(
            ring.keys
                .iter()
                .filter(|k| k.publish_until.is_none_or(|u| u > now))
                .map(|k| &k.key),
        )
    }

    /// The key set the server's own validator uses.
    pub fn handle(&self) -> KeySetHandle {
        self.handle.clone()
    }

    /// Starts a rotation: publishes a new key now, signs with it after the rotation delay.
    /// Returns the new kid and its activation time.
    pub async fn rotate(&self) -> Result<(String, i64), KeyError> {
        let now = self.clock.now();
        let delay = i64::try_from(self.settings.rotation_delay.as_secs()).unwrap_or(i64::MAX);
        let activates_at = now.saturating_add(delay);
        let ttl = i64::try_from(self.settings.access_token_ttl.as_secs()).unwrap_or(i64::MAX);
        let current = self.store.list_keys().await?;
        let key = self.insert_new(activates_at).await?;
        // The ID-token key rotates with it when it is a separate key.
        let configured = self.settings.algorithm.as_str();
        let id_alg = ID_TOKEN_ALG.as_str();
        if configured != id_alg
            && current
                .iter()
                .any(|k| k.alg == id_alg && k.retired_at.is_none())
        {
            self.insert_new_of(ID_TOKEN_ALG, activates_at).await?;
        }
        // Retire every older key when the new one takes over; keep it published until
        // the last token it can have signed has expired (plus validator leeway).
        for old in current.iter().filter(|k| k.retired_at.is_none()) {
            self.store
                .retire_key(
                    &old.kid,
                    activates_at,
                    activates_at.saturating_add(ttl).saturating_add(60),
                )
                .await?;
        }
        self.reload().await?;
        Ok((key.kid().to_owned(), activates_at))
    }

    /// Stored keys with their state, for `rampart keys list`.
    pub async fn list(&self) -> Result<Vec<StoredKey>, KeyError> {
        Ok(self.store.list_keys().await?)
    }
}
