//! Brute-force resistance on the password grant and on client authentication.
//!
//! Failures are counted per client IP (from the trusted-proxy logic), per account, per
//! client id and per (client id, IP), in the store so that every instance sees the same
//! counters. After `free` failures each further one locks the key for
//! `base · 2^(n−free−1)`, capped at `max` (defaults: IP 5 free, account 10 free, client at
//! one IP 5 free, client 20 free; 1 s doubling up to 15 min). A key's count restarts when
//! its last failure is older than `reset_after` (1 h). A success clears the account's (or
//! the client's and the client-at-this-IP's) counter; the IP's stays, so one valid
//! account cannot launder guesses against others.
//!
//! Client ids are public, so a client's own counter must not be the first to bite: one IP
//! guessing a confidential client's secret locks only that (client, IP) pair and that IP
//! after 5 failures, while the client itself, and so the right secret from any other IP,
//! holds until 20 failures come from several IPs.
//!
//! Trade-off: an attacker spraying guesses at one account from many IPs can lock that
//! account, but only for minutes at a time (the cap), and from any single IP the per-IP
//! limit bites first (5 free against the account's 10) — so a single attacker cannot keep
//! the real user out. Locked requests are refused before any hashing, so a flood costs
//! one indexed lookup each.
//!
//! Most requests that consult the throttle are successes whose subjects have nothing on
//! record, and a lookup for them is a database read per grant. So the throttle remembers,
//! for [`CLEAN_FOR`], the keys a lookup found without a row, and answers for them from
//! memory. Every failure recorded on this instance forgets its keys first (and a lookup
//! that raced a failure is not remembered: see [`Throttle::standing`]), so on one instance
//! nothing changes. Failures recorded by another instance (or the CLI) on a key this one
//! holds as clean are seen once its entry ends, at most [`CLEAN_FOR`] later, or at this
//! instance's own next failure for that key: an attacker spread over instances gains at
//! most one guess per instance per lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Clock;
use crate::store::{StoreError, ThrottleStore};

/// An exponential backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before any delay.
    pub free: u32,
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Backoff {
    /// How long the key is locked after its `failures`-th failure. Pure.
    pub fn lock_for(&self, failures: u32) -> Duration {
        if failures <= self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free - 1).min(30);
        self.base.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// The throttle settings.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub per_ip: Backoff,
    pub per_account: Backoff,
    pub per_client: Backoff,
    pub per_client_ip: Backoff,
    pub reset_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        let minutes_15 = Duration::from_secs(15 * 60);
        Self {
            per_ip: Backoff {
                free: 5,
                base: Duration::from_secs(1),
                max: minutes_15,
            },
            per_account: Backoff {
                free: 10,
                base: Duration::from_secs(1),
                max: minutes_15,
            },
            per_client: Backoff {
                free: 20,
                base: Duration::from_secs(1),
                max: minutes_15,
            },
            per_client_ip: Backoff {
                free: 5,
                base: Duration::from_secs(1),
                max: minutes_15,
            },
            reset_after: Duration::from_secs(3600),
        }
    }
}

/// A failure counter: what is being throttled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// A client IP.
    Ip(std::net::IpAddr),
    /// A (normalised) username, whether or not the account exists.
    Account(String),
    /// An OAuth client id.
    Client(String),
    /// An OAuth client id presented from one client IP.
    ClientAtIp(String, std::net::IpAddr),
}

impl Counter {
    fn key(&self) -> String {
        match self {
            Self::Ip(ip) => format!("ip:{ip}"),
            Self::Account(name) => format!("user:{name}"),
            Self::Client(id) => format!("client:{id}"),
            Self::ClientAtIp(id, ip) => format!("client-ip:{id}@{ip}"),
        }
    }
}

/// How long a key found without failures is answered from memory: the reload interval
/// of the other shared state (keys, revocations), so that other instances' lockouts
/// arrive as fast as their revocations do.
pub const CLEAN_FOR: Duration = crate::keys::RELOAD_EVERY;
/// Clean keys remembered at most.
const MAX_CLEAN_KEYS: u64 = 100_000;

/// The throttle over a store.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn ThrottleStore>,
    clock: Clock,
    policy: ThrottlePolicy,
    clean: Arc<Clean>,
}

/// The keys recently found without a row (see the module docs).
struct Clean {
    keys: moka::sync::Cache<String, (), foldhash::fast::RandomState>,
    /// Advanced by every failure recorded here: a lookup that began before one is not
    /// remembered.
    generation: AtomicU64,
}

impl Throttle {
    pub fn new(store: Arc<dyn ThrottleStore>, clock: Clock, policy: ThrottlePolicy) -> Self {
        Self {
            store,
            clock,
            policy,
            clean: Arc::new(Clean {
                keys: moka::sync::Cache::builder()
                    .max_capacity(MAX_CLEAN_KEYS)
                    .time_to_live(CLEAN_FOR)
                    .build_with_hasher(foldhash::fast::RandomState::default()),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// `Err(seconds)` when any subject is locked now: how long until the last lock ends.
    pub async fn check(&self, subjects: &[Counter]) -> Result<Result<(), u64>, StoreError> {
        Ok(self.standing(subjects).await?.locked())
    }

    /// What the store holds for `subjects` (one lookup, none when every key was found
    /// clean lately): whether any is locked now, and which have failures on record.
    pub async fn standing(&self, subjects: &[Counter]) -> Result<Standing, StoreError> {
        let keys: Vec<String> = subjects.iter().map(Counter::key).collect();
        let clean = &self.clean;
        if keys.iter().all(|key| clean.keys.contains_key(key)) {
            return Ok(Standing::new(self.clock.now(), Vec::new()));
        }
        let generation = clean.generation.load(Ordering::Acquire);
        let rows = self.store.throttle_locks(&keys).await?;
        let without: Vec<&String> = keys
            .iter()
            .filter(|key| !rows.iter().any(|(recorded, _)| recorded == *key))
            .collect();
        if clean.generation.load(Ordering::Acquire) == generation {
            for key in &without {
                clean.keys.insert((*key).clone(), ());
            }
            // A failure recorded between the check and the inserts must still win.
            if clean.generation.load(Ordering::Acquire) != generation {
                for key in &without {
                    clean.keys.invalidate(*key);
                }
            }
        }
        Ok(Standing::new(self.clock.now(), rows))
    }

    /// Forgets that `key` was clean, before and after its failure is written.
    fn dirty(&self, key: &str) {
        self.clean.generation.fetch_add(1, Ordering::AcqRel);
        self.clean.keys.invalidate(key);
    }

    /// Records a failure for each subject; returns the subjects that became locked.
    pub async fn failed(
        &self,
        subjects: &[Counter],
    ) -> Result<Vec<(Counter, Duration)>, StoreError> {
        let now = self.clock.now();
        let reset_before =
            now - i64::try_from(self.policy.reset_after.as_secs()).unwrap_or(i64::MAX);
        let mut locked = Vec::new();
        for subject in subjects {
            let key = subject.key();
            self.dirty(&key);
            let failures = self.store.record_failure(&key, now, reset_before).await;
            self.dirty(&key);
            let failures = failures?;
            let backoff = match subject {
                Counter::Ip(_) => self.policy.per_ip,
                Counter::Account(_) => self.policy.per_account,
                Counter::Client(_) => self.policy.per_client,
                Counter::ClientAtIp(..) => self.policy.per_client_ip,
            };
            let lock = backoff.lock_for(failures);
            if !lock.is_zero() {
                let until = now.saturating_add(i64::try_from(lock.as_secs()).unwrap_or(i64::MAX));
                self.store.lock_until(&key, until).await?;
                locked.push((subject.clone(), lock));
            }
        }
        Ok(locked)
    }

    /// Deletes the rows that no longer count (count restarted, no lock left): without it
    /// every IP and name that ever failed once would stay stored. Returns how many.
    pub async fn purge(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let reset_before =
            now - i64::try_from(self.policy.reset_after.as_secs()).unwrap_or(i64::MAX);
        self.store.purge_throttle(now, reset_before).await
    }

    /// Clears a subject's failures (after a successful login).
    pub async fn succeeded(&self, subject: &Counter) -> Result<(), StoreError> {
        self.store.clear_failures(&subject.key()).await
    }

    /// [`Self::succeeded`], skipped when `standing` (looked up earlier in this request;
    /// `None`: not looked up) found no failures on record for `subject`: most successes
    /// have nothing to clear, and a DELETE is a write. A failure recorded by a concurrent
    /// request after that lookup then stays counted, as if it had come after this success.
    pub async fn succeeded_after(
        &self,
        standing: Option<&Standing>,
        subject: &Counter,
    ) -> Result<(), StoreError> {
        if standing.is_none_or(|s| s.has_failures(subject)) {
            self.succeeded(subject).await
        } else {
            Ok(())
        }
    }
}

/// The throttle rows of some subjects, as one lookup found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// Seconds until the last lock ends (0: none is locked).
    wait: i64,
    /// Keys with failures on record.
    recorded: Vec<String>,
}

impl Standing {
    /// From `(key, locked_until)` rows read at `now`. Pure.
    fn new(now: i64, rows: Vec<(String, i64)>) -> Self {
        let wait = rows
            .iter()
            .map(|(_, until)| until.saturating_sub(now))
            .max()
            .unwrap_or(0);
        Self {
            wait,
            recorded: rows.into_iter().map(|(key, _)| key).collect(),
        }
    }

    /// `Err(seconds)` when any subject is locked: how long until the last lock ends.
    pub fn locked(&self) -> Result<(), u64> {
        if self.wait > 0 {
            Err(u64::try_from(self.wait).unwrap_or(1))
        } else {
            Ok(())
        }
    }

    /// Whether `subject` has failures on record (a row, locked or not).
    pub fn has_failures(&self, subject: &Counter) -> bool {
        let key = subject.key();
        self.recorded.contains(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_timeline() {
        let b = Backoff {
            free: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(900),
        };
        let secs: Vec<u64> = (1..=17).map(|n| b.lock_for(n).as_secs()).collect();
        assert_eq!(
            secs,
            [
                0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900
            ]
        );
        assert_eq!(b.lock_for(u32::MAX).as_secs(), 900, "no overflow");
    }

    #[test]
    fn the_standing_table() {
        let ip = Counter::Ip(std::net::IpAddr::from([10, 0, 0, 1]));
        let account = Counter::Account("alice".into());
        let cases = [
            ("nothing on record", vec![], Ok(()), false, false),
            (
                "failures, no lock",
                vec![("user:alice".to_owned(), 0)],
                Ok(()),
                false,
                true,
            ),
            (
                "a lock that has ended",
                vec![("ip:10.0.0.1".to_owned(), 99)],
                Ok(()),
                true,
                false,
            ),
            (
                "the longest lock counts",
                vec![
                    ("ip:10.0.0.1".to_owned(), 105),
                    ("user:alice".to_owned(), 130),
                ],
                Err(30),
                true,
                true,
            ),
        ];
        for (name, rows, locked, ip_recorded, account_recorded) in cases {
            let standing = Standing::new(100, rows);
            assert_eq!(standing.locked(), locked, "{name}");
            assert_eq!(standing.has_failures(&ip), ip_recorded, "{name}");
            assert_eq!(standing.has_failures(&account), account_recorded, "{name}");
        }
    }

    #[tokio::test]
    async fn clean_keys_are_answered_from_memory_until_a_failure_here() {
        let store = crate::store::SqliteStore::connect("sqlite::memory:", 1)
            .await
            .unwrap();
        crate::store::Store::migrate(&store).await.unwrap();
        let store: Arc<dyn ThrottleStore> = Arc::new(store);
        let now = 1_800_000_000;
        let throttle = Throttle::new(
            Arc::clone(&store),
            Clock::manual(now),
            ThrottlePolicy::default(),
        );
        let client = Counter::Client("app".into());
        let subjects = [client.clone()];
        assert_eq!(throttle.check(&subjects).await.unwrap(), Ok(()));
        // Another instance locks the key behind this one's back: the entry still stands.
        store
            .record_failure("client:app", now, now - 3600)
            .await
            .unwrap();
        store.lock_until("client:app", now + 60).await.unwrap();
        assert_eq!(
            throttle.check(&subjects).await.unwrap(),
            Ok(()),
            "answered from memory"
        );
        // A failure recorded here forgets the entry: the lock is seen at once.
        throttle.failed(&subjects).await.unwrap();
        let standing = throttle.standing(&subjects).await.unwrap();
        assert_eq!(standing.locked(), Err(60));
        assert!(standing.has_failures(&client));
        // A key with a row is never remembered as clean.
        assert_eq!(throttle.check(&subjects).await.unwrap(), Err(60));
    }
}

/// An in-memory per-IP rate limit on password logins (governor's GCRA): it keeps one
/// client from filling the hashing queue. It complements the store-backed backoff, which
/// counts failures across instances; this one counts attempts on this instance.
#[derive(Clone)]
pub struct LoginRate {
    limiter: Option<std::sync::Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>>,
}

impl LoginRate {
    /// `per_second` attempts per IP with a burst of twice that; 0 disables the limit.
    pub fn new(per_second: u32) -> Self {
        let limiter = std::num::NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1));
            let quota = governor::Quota::per_second(rate).allow_burst(burst);
            std::sync::Arc::new(governor::RateLimiter::keyed(quota))
        });
        Self { limiter }
    }

    /// `Err(seconds)` when this IP must wait.
    pub fn check(&self, ip: std::net::IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            wait.as_secs().max(1)
        })
    }

    /// Drops the state of IPs that have been quiet (bounded memory).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
