//! The verified-token cache's per-thread front: a small copy of the hot entries that a hit
//! reads without writing any memory another core uses.
//!
//! Why: a hit on the shared cache alone (moka) writes shared memory on every request:
//! moka's read-recording buffer, the entry's last-access time and the reference counts of
//! the cached `Arc<Claims>` and `Arc<[u8]>`. With every core serving the same few tokens,
//! each of those writes moves a cache line between cores; measured, that was most of what
//! a protected route cost over an unprotected one across two cores (docs/performance.md).
//! A front hit reads two shared atomics (the cache's flush epoch here, the key generation
//! in the validator) and touches only this thread's own copy.
//!
//! What keeps it exactly as strict as the shared cache:
//!
//! - It holds only copies of entries the shared cache returned, each stamped with the
//!   cache it came from, the cache's flush epoch and the key-set generation of the entry.
//!   A copy is served only for the same cache, the same epoch (every flush advances it)
//!   and the current generation, and only while `now < exp` (the shared entry expires at
//!   `exp`; a copy must not outlive it). The caller then re-checks `exp`, `nbf`, the
//!   maximum age and the revocation list, as for any hit.
//! - The epoch is read before the shared cache is, so a copy taken while a flush runs
//!   carries the old epoch and is never served.
//! - The token is compared byte for byte; the slot index and the admission fingerprint
//!   are only hints.
//!
//! Admission: a token is copied in on its second shared-cache hit in a row at its slot,
//! so a workload of many distinct tokens does not pay a copy per request; a token that is
//! hot on this thread is copied once. Direct-mapped, [`SLOTS`] slots per thread: at most
//! that many tokens and their payloads (each at most the validator's token size limit)
//! per worker thread.

use std::cell::RefCell;
use std::sync::Arc;

use super::Verified;

/// Slots per thread.
const SLOTS: usize = 64;

/// One copied entry.
struct Slot {
    /// The `TokenCache` it was copied from.
    cache: u64,
    /// That cache's flush epoch, read before the copy was taken.
    epoch: u64,
    /// The key-set generation the verdict was made under.
    generation: u64,
    /// The token's `exp`.
    exp: i64,
    token: Box<str>,
    /// Owned by this thread: fresh `Arc`s, not the shared entry's.
    verified: Verified,
}

struct Front {
    slots: [Option<Slot>; SLOTS],
    /// Per slot, the fingerprint of the token last offered there and not yet admitted.
    candidates: [u64; SLOTS],
}

thread_local! {
    static FRONT: RefCell<Front> = const {
        RefCell::new(Front {
            slots: [const { None }; SLOTS],
            candidates: [0; SLOTS],
        })
    };
}

/// What identifies an entry for a lookup.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp {
    /// `TokenCache::id`.
    pub(super) cache: u64,
    /// The cache's flush epoch, read before the shared cache is consulted.
    pub(super) epoch: u64,
    /// The key-set generation now.
    pub(super) generation: u64,
}

/// A cheap hint from the token's last bytes (signature bytes for a JWS) and length. Not a
/// key: collisions only cost a miss.
fn fingerprint(token: &str) -> u64 {
    let bytes = token.as_bytes();
    let n = bytes.len().min(8);
    let mut tail = [0u8; 8];
    tail[..n].copy_from_slice(&bytes[bytes.len() - n..]);
    (u64::from_le_bytes(tail) ^ (bytes.len() as u64).rotate_left(32)) | 1
}

fn index(fingerprint: u64) -> usize {
    // Fibonacci hashing: the top bits of the product mix every input bit.
    let top = fingerprint.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros());
    usize::try_from(top).expect("fewer than SLOTS, so it fits a usize")
}

/// This thread's copy of the entry for `token`, if it matches `stamp` and `now < exp`.
pub(super) fn get(token: &str, stamp: Stamp, now: i64) -> Option<Verified> {
    let slot = index(fingerprint(token));
    FRONT.with_borrow(|front| {
        front.slots[slot]
            .as_ref()
            .filter(|s| {
                s.cache == stamp.cache
                    && s.epoch == stamp.epoch
                    && s.generation == stamp.generation
                    && now < s.exp
                    && *s.token == *token
            })
            .map(|s| s.verified.clone())
    })
}

/// Offers an entry the shared cache just returned for `token` under `stamp`: copied into
/// this thread's front on the second offer in a row at its slot.
pub(super) fn offer(token: &str, stamp: Stamp, verified: &Verified) {
    let Some(exp) = verified.claims.exp else {
        return;
    };
    let fingerprint = fingerprint(token);
    let slot = index(fingerprint);
    FRONT.with_borrow_mut(|front| {
        if front.candidates[slot] != fingerprint {
            front.candidates[slot] = fingerprint;
            return;
        }
        front.candidates[slot] = 0;
        front.slots[slot] = Some(Slot {
            cache: stamp.cache,
            epoch: stamp.epoch,
            generation: stamp.generation,
            exp,
            token: Box::from(token),
            verified: Verified {
                claims: Arc::new((*verified.claims).clone()),
                payload: Arc::from(&verified.payload[..]),
                validator: verified.validator,
            },
        });
    });
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
            validator: 7,
        }
    }

    const STAMP: Stamp = Stamp {
        cache: 1,
        epoch: 0,
        generation: 0,
    };

    #[test]
    fn a_token_is_copied_in_on_its_second_offer_and_the_copy_owns_its_memory() {
        let shared = verified(200);
        offer("tok-a", STAMP, &shared);
        assert!(
            get("tok-a", STAMP, 100).is_none(),
            "one offer is not enough"
        );
        offer("tok-a", STAMP, &shared);
        let copy = get("tok-a", STAMP, 100).expect("admitted on the second offer");
        assert_eq!(copy.claims, shared.claims);
        assert_eq!(copy.validator, shared.validator);
        assert!(
            !Arc::ptr_eq(&copy.claims, &shared.claims),
            "a copy, not a share"
        );
        assert!(!Arc::ptr_eq(&copy.payload, &shared.payload));
    }

    /// Every field of the stamp, the clock and the token bytes must match for a hit.
    #[test]
    fn a_copy_is_served_only_under_the_stamp_it_was_taken_with_and_before_exp() {
        let shared = verified(200);
        let token = "hdr.payload.signature-front";
        offer(token, STAMP, &shared);
        offer(token, STAMP, &shared);
        let other = |f: fn(&mut Stamp)| {
            let mut stamp = STAMP;
            f(&mut stamp);
            stamp
        };
        #[rustfmt::skip]
        let cases: [(&str, &str, Stamp, i64, bool); 8] = [
            ("the same token, stamp and a time before exp", token, STAMP, 100, true),
            ("one second before exp", token, STAMP, 199, true),
            ("at exp", token, STAMP, 200, false),
            ("another cache", token, other(|s| s.cache = 2), 100, false),
            ("after a flush", token, other(|s| s.epoch = 1), 100, false),
            ("after a key change", token, other(|s| s.generation = 1), 100, false),
            ("a different token of the same length and tail", "HDR.payload.signature-front", STAMP, 100, false),
            ("a prefix", "hdr.payload.signature-fron", STAMP, 100, false),
        ];
        for (name, token, stamp, now, hit) in cases {
            assert_eq!(get(token, stamp, now).is_some(), hit, "{name}");
        }
    }

    #[test]
    fn a_token_without_exp_is_never_copied() {
        let mut shared = verified(0);
        Arc::make_mut(&mut shared.claims).exp = None;
        offer("no-exp", STAMP, &shared);
        offer("no-exp", STAMP, &shared);
        assert!(get("no-exp", STAMP, i64::MIN).is_none());
    }
}
