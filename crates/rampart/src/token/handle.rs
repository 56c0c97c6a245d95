//! Key sets that change at run time, and revocation lists, owned by the application.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use super::KeySet;

/// A key set the application replaces at run time (key rotation in a token server that
/// validates its own tokens). Readers take one atomic load per validation; cloning shares
/// the set.
#[derive(Clone)]
pub struct KeySetHandle {
    inner: Arc<ArcSwap<KeySet>>,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for KeySetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySetHandle")
            .field("keys", &self.inner.load().len())
            .finish()
    }
}

impl KeySetHandle {
    /// A handle holding `keys`.
    pub fn new(keys: KeySet) -> Self {
        Self {
            inner: Arc::new(ArcSwap::from_pointee(keys)),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Replaces the key set; validations already running finish with the old one.
    pub fn replace(&self, keys: KeySet) {
        let old = self.inner.swap(Arc::new(keys));
        if old.is_superseded_by(&self.inner.load()) {
            // A key went away: tokens it verified must be checked again.
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Changes whenever a key is removed (the verified-token cache flushes on it).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current key set.
    pub fn current(&self) -> Arc<KeySet> {
        self.inner.load_full()
    }
}

/// Tells the validator whether a token id (`jti`) has been revoked (RFC 7009).
/// Called on every validation of a token that carries a `jti`: keep it in memory.
pub trait RevocationList: Send + Sync + 'static {
    /// True when the token with this `jti` must be refused.
    fn is_revoked(&self, jti: &str) -> bool;
}
