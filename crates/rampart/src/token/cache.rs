//! The verified-token cache: a token that passed full validation is remembered, keyed by
//! its exact bytes, until its `exp`.
//!
//! - Keyed by the whole token string: moka hashes it and compares the full bytes on a
//!   hit, so two different tokens can never share an entry. The hash is foldhash (seeded
//!   per cache), not the std SipHash: hashing a ~500-byte token is on every request's
//!   path. Its weaker collision resistance costs nothing here, because only tokens that
//!   passed full validation are inserted, so an attacker cannot fill the table with
//!   chosen keys.
//! - Bounded in entries and in memory (each entry weighs the token plus the payload).
//! - Each entry expires at the token's `exp`; a hit still checks `exp`, `nbf` and the
//!   maximum age against the clock (a hit is never more permissive than a miss) and the
//!   revocation list.
//! - Never outlives the key that verified it. The key source (a `KeySetHandle`, a
//!   `RemoteJwks`) advances a generation whenever a change could alter some token's
//!   verdict: a key removed, a `kid` republished with other bytes, a swapped HMAC secret,
//!   a key added that changes which key a token selects (`KeySet::is_superseded_by`
//!   compares key material, not only kids). Every entry is stamped with the generation
//!   read *before* its token's keys were loaded, and a hit counts only if its stamp is the
//!   current generation. So a validation that was still running with the old keys when
//!   they were replaced cannot leave a verdict behind: its stamp is already stale (and
//!   the validator does not even insert it when the generation moved meanwhile). Stale
//!   entries are also flushed, to give their memory back; correctness does not depend on
//!   the flush, which races with inserts.
//! - Only successes are inserted; a failure is never cached.
//! - A hit is answered from a per-thread copy when there is one ([`front`](super::front)):
//!   the same entries under the same rules, stamped with this cache, its flush epoch and
//!   the key generation, so that a hit writes no memory another core reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use super::Verified;
use super::front::{self, Stamp};

/// Source of `TokenCache::id`.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Cache settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept.
    pub max_entries: u64,
    /// Most bytes kept (tokens plus payloads).
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
struct Entry {
    verified: Verified,
    /// Wall-clock seconds left until `exp` when inserted.
    ttl: Duration,
    /// The key-set generation read before the token's keys were loaded.
    generation: u64,
}

struct UntilExp;

impl Expiry<Arc<str>, Entry> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        value: &Entry,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub(crate) struct TokenCache {
    entries: Cache<Arc<str>, Entry, foldhash::quality::RandomState>,
    generation: AtomicU64,
    /// Unique per cache: what the per-thread copies are tagged with.
    id: u64,
    /// Advanced by every flush, before the flush; per-thread copies of an older epoch are
    /// never served.
    epoch: AtomicU64,
}

impl TokenCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        let floor = config.max_bytes / config.max_entries.max(1);
        let entries = Cache::builder()
            .max_capacity(config.max_bytes)
            // Every entry weighs at least max_bytes / max_entries, so the byte bound also
            // bounds the count (moka bounds by one measure only).
            .weigher(move |token: &Arc<str>, entry: &Entry| {
                let bytes = (token.len() + entry.verified.payload.len() + 256) as u64;
                u32::try_from(bytes.max(floor)).unwrap_or(u32::MAX)
            })
            .expire_after(UntilExp)
            .build_with_hasher(foldhash::quality::RandomState::default());
        Self {
            entries,
            generation: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
        }
    }

    /// Flushes everything if the key set changed since the last call (to free memory:
    /// `get` already refuses entries of another generation).
    pub(crate) fn sync_generation(&self, current: u64) {
        // A plain load first: the common case (no change) then writes nothing, so the
        // cache line is not bounced between cores on every request.
        if self.generation.load(Ordering::Acquire) != current
            && self.generation.swap(current, Ordering::AcqRel) != current
        {
            self.invalidate_all();
        }
    }

    /// The entry for `token` if it was made under key-set generation `current`. The
    /// shared entry expires at `exp` by itself; this thread's copy is served only while
    /// `now` (the validator's clock) is before `exp`.
    pub(crate) fn get(&self, token: &str, current: u64, now: i64) -> Option<Verified> {
        // Read before the shared cache: a copy taken during a flush keeps the old epoch.
        let stamp = Stamp {
            cache: self.id,
            epoch: self.epoch.load(Ordering::Acquire),
            generation: current,
        };
        if let Some(copy) = front::get(token, stamp, now) {
            return Some(copy);
        }
        let hit = self
            .entries
            .get(token)
            .filter(|e| e.generation == current)?;
        front::offer(token, stamp, &hit.verified);
        Some(hit.verified)
    }

    /// Remembers `verified`, made with the keys of key-set `generation`, until its `exp`.
    pub(crate) fn insert(&self, token: &str, verified: &Verified, now: i64, generation: u64) {
        let Some(exp) = verified.claims.exp else {
            return;
        };
        let Ok(secs) = u64::try_from(exp - now) else {
            return;
        };
        if secs == 0 {
            return;
        }
        let entry = Entry {
            verified: verified.clone(),
            ttl: Duration::from_secs(secs),
            generation,
        };
        self.entries.insert(Arc::from(token), entry);
    }

    pub(crate) fn invalidate_all(&self) {
        // The epoch first: from here on no per-thread copy of an entry flushed now is
        // served, whatever a concurrent `get` is doing.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Claims;

    fn verified(exp: i64) -> Verified {
        let claims = Claims {
            exp: Some(exp),
            ..Claims::default()
        };
        Verified {
            claims: Arc::new(claims),
            payload: Arc::from(&b"{}"[..]),
            validator: 0,
        }
    }

    #[test]
    fn the_entry_bound_holds() {
        let cache = TokenCache::new(CacheConfig {
            max_entries: 10,
            max_bytes: 1024 * 1024,
        });
        for i in 0..200 {
            cache.insert(
                &format!("token-{i}"),
                &verified(2_000_000_000),
                1_000_000_000,
                0,
            );
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
    }

    #[test]
    fn expired_or_expiring_tokens_are_not_inserted() {
        let cache = TokenCache::new(CacheConfig::default());
        cache.insert("a", &verified(100), 100, 0);
        cache.insert("b", &verified(99), 100, 0);
        assert!(cache.get("a", 0, 100).is_none() && cache.get("b", 0, 100).is_none());
        cache.insert("c", &verified(160), 100, 0);
        assert!(cache.get("c", 0, 100).is_some());
    }

    /// Whatever the order of flushes and inserts, an entry made under one key-set
    /// generation is never a hit under another.
    #[test]
    fn an_entry_is_a_hit_only_under_the_generation_it_was_made_in() {
        let cache = TokenCache::new(CacheConfig::default());
        cache.insert("old", &verified(160), 100, 3);
        // Inserted after the flush that the new generation caused: the late arrival of a
        // validation that ran with the old keys.
        cache.sync_generation(4);
        cache.insert("late", &verified(160), 100, 3);
        cache.insert("new", &verified(160), 100, 4);
        assert!(cache.get("old", 4, 100).is_none(), "made before the change");
        assert!(
            cache.get("late", 4, 100).is_none(),
            "made with the old keys, stored after"
        );
        assert!(
            cache.get("new", 4, 100).is_some(),
            "made with the current keys"
        );
        assert!(
            cache.get("new", 5, 100).is_none(),
            "and not after the next change"
        );
    }
}
