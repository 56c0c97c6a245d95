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

    /// Replaces the key set; validations already running finish with the old one, and
    /// none of their verdicts outlives it in the verified-token cache.
    pub fn replace(&self, keys: KeySet) {
        let keys = Arc::new(keys);
        let old = self.inner.swap(Arc::clone(&keys));
        // Compared with the set this call installed, not whatever is current by now: each
        // replacement is judged against its predecessor, and "supersedes nothing" chains.
        if old.is_superseded_by(&keys) {
            // After the swap, never before: a validation that reads the new generation must
            // then load the new keys (its verdict is stamped with the generation it read
            // before loading them).
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Advances whenever a replacement could change a token's verdict: a key removed, a
    /// `kid` or HMAC secret given other material, a key added that changes which key a
    /// token selects (see [`KeySet::is_superseded_by`]). A verified-token cache entry is
    /// only valid for the generation it was made under.
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
