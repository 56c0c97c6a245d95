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
}

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
        };
        if keys.store.list_keys().await?.is_empty() {
            let now = keys.clock.now();
            keys.insert_new(now).await?;
        }
        keys.reload().await?;
        Ok(keys)
    }

    async fn insert_new(&self, activates_at: i64) -> Result<SigningKey, KeyError> {
        let alg = self.settings.algorithm;
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

    /// The key to sign with now: the most recently activated, unretired key.
    pub fn active(&self) -> Result<SigningKey, KeyError> {
        let now = self.clock.now();
        let ring = self.ring.load();
        ring.keys
            .iter()
            .filter(|k| k.activates_at <= now && k.retired_at.is_none_or(|r| r > now))
            .max_by_key(|k| k.activates_at)
            .map(|k| k.key.clone())
            .ok_or(KeyError::NoActiveKey)
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
