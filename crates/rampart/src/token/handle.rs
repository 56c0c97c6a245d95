//! Key sets that change at run time, and revocation lists, owned by the application.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::KeySet;

/// A key set the application replaces at run time (key rotation in a token server that
/// validates its own tokens). Readers take one atomic load per validation; cloning shares
/// the set.
#[derive(Clone)]
pub struct KeySetHandle {
    inner: Arc<ArcSwap<KeySet>>,
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
        }
    }

    /// Replaces the key set; validations already running finish with the old one.
    pub fn replace(&self, keys: KeySet) {
        self.inner.store(Arc::new(keys));
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
