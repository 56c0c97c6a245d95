//! A global budget for password-hashing CPU: a leaky bucket of CPU seconds.
//!
//! The hashing pool bounds how many hashes run at once, not how much CPU they take over
//! time: on a 2-core host its one thread can hold a full core for as long as a
//! credential-stuffing flood lasts (every attempt from a new IP, so no per-IP limit bites),
//! and every other route on the host slows down. With a budget of `B` cores, each job's
//! measured duration on its hashing thread is added to a debt that drains at `B` seconds
//! per second; while the debt is above a burst allowance (1 s per pool thread, so logins
//! after a quiet spell are never refused) new jobs are refused at once, like a full queue
//! (503 + `Retry-After`). Over any long window hashing then averages at most `B` cores.
//!
//! A job is charged an estimate (the running average cost) when it is admitted and settled
//! with its measured cost when it ends: charging only at the end would let a flood fill the
//! whole queue before the first cost lands, and run it at full speed.
//!
//! Why not `governor`: GCRA needs each cell's cost at admission, and a hash's cost is only
//! known after it ran (the stored hash's parameters, the machine's load). Wall time on the
//! dedicated thread stands in for CPU time; under contention it is larger, so the budget
//! errs on the safe side.

use std::time::{Duration, Instant};

/// Debt allowed per pool thread before jobs are refused.
pub const BURST_PER_THREAD: Duration = Duration::from_secs(1);

/// Why a `hash_cpu_budget` was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// Negative, NaN or infinite.
    #[error("hash_cpu_budget must be a finite number of cores ≥ 0 (0 = unlimited), got {0}")]
    Invalid(f64),
    /// More cores than the pool has threads: it could never be reached.
    #[error(
        "hash_cpu_budget ({budget}) must not exceed hash_pool_size ({pool}): the pool cannot use more cores than it has threads"
    )]
    AbovePool { budget: f64, pool: usize },
}

/// A checked `hash_cpu_budget`: cores password hashing may use on average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuBudget(Option<f64>);

impl CpuBudget {
    /// No budget: the pool size is the only bound.
    pub const UNLIMITED: Self = Self(None);

    /// Checks `cores` (0 = unlimited) against a pool of `pool_size` threads (0 counts as
    /// the 1 thread the pool starts).
    pub fn new(cores: f64, pool_size: usize) -> Result<Self, BudgetError> {
        let pool = pool_size.max(1);
        if !cores.is_finite() || cores < 0.0 {
            return Err(BudgetError::Invalid(cores));
        }
        if cores > pool as f64 {
            return Err(BudgetError::AbovePool {
                budget: cores,
                pool,
            });
        }
        Ok(Self((cores > 0.0).then_some(cores)))
    }

    /// The default: half of the pool, at least half a core.
    pub fn default_cores(pool_size: usize) -> f64 {
        (pool_size.max(1) as f64 / 2.0).max(0.5)
    }

    /// Cores, or `None` when unlimited.
    pub fn cores(self) -> Option<f64> {
        self.0
    }
}

/// An admitted job's advance charge, to settle or refund exactly once.
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use = "settle or refund the charge"]
pub struct Charge(f64);

/// The bucket. Pure: every method takes the time, so tests replay timelines.
#[derive(Debug, Clone)]
pub struct LeakyBucket {
    /// Seconds of debt drained per second (the budget in cores).
    rate: f64,
    /// Debt above which jobs are refused, in seconds.
    burst: f64,
    /// Hashing seconds not yet drained, as of `at`.
    debt: f64,
    at: Instant,
    /// Running average cost of one job, in seconds.
    estimate: f64,
}

impl LeakyBucket {
    /// A bucket draining at `cores` seconds per second that refuses beyond `burst` of
    /// debt, starting empty at `now`, expecting jobs to cost about `typical`.
    pub fn new(cores: f64, burst: Duration, typical: Duration, now: Instant) -> Self {
        Self {
            rate: cores,
            burst: burst.as_secs_f64(),
            debt: 0.0,
            at: now,
            estimate: typical.as_secs_f64(),
        }
    }

    fn drain(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.debt = (self.debt - elapsed * self.rate).max(0.0);
        self.at = self.at.max(now);
    }

    /// Debt above the burst allowance, in seconds (≤ 0: jobs are admitted).
    fn excess(&mut self, now: Instant) -> f64 {
        self.drain(now);
        self.debt - self.burst
    }

    /// How long until a job would be admitted (zero: now).
    pub fn wait(&mut self, now: Instant) -> Duration {
        let excess = self.excess(now);
        if excess > 0.0 {
            Duration::try_from_secs_f64(excess / self.rate).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }

    /// Admits a job, charging the estimate in advance, or says how long to wait.
    pub fn admit(&mut self, now: Instant) -> Result<Charge, Duration> {
        if self.excess(now) > 0.0 {
            return Err(self.wait(now));
        }
        self.debt += self.estimate;
        Ok(Charge(self.estimate))
    }

    /// Replaces a job's advance charge with what it measured, and learns from it.
    pub fn settle(&mut self, charge: Charge, cost: Duration, now: Instant) {
        self.drain(now);
        let cost = cost.as_secs_f64();
        self.debt = (self.debt - charge.0 + cost).max(0.0);
        self.estimate += (cost - self.estimate) / 4.0;
    }

    /// Cancels the advance charge of a job that will not run.
    pub fn refund(&mut self, charge: Charge, now: Instant) {
        self.drain(now);
        self.debt = (self.debt - charge.0).max(0.0);
    }

    /// Current debt in seconds (tests).
    #[cfg(test)]
    fn debt(&mut self, now: Instant) -> f64 {
        self.drain(now);
        self.debt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn budgets_are_checked_against_the_pool() {
        let cases = [
            ("half a core on one thread", 0.5, 1, Ok(Some(0.5))),
            ("zero is unlimited", 0.0, 1, Ok(None)),
            ("the whole pool", 3.0, 3, Ok(Some(3.0))),
            ("pool size 0 counts as 1", 1.0, 0, Ok(Some(1.0))),
            ("negative", -1.0, 4, Err(BudgetError::Invalid(-1.0))),
            (
                "infinite",
                f64::INFINITY,
                4,
                Err(BudgetError::Invalid(f64::INFINITY)),
            ),
            (
                "more than the pool",
                2.5,
                2,
                Err(BudgetError::AbovePool {
                    budget: 2.5,
                    pool: 2,
                }),
            ),
        ];
        for (name, cores, pool, expected) in cases {
            assert_eq!(
                CpuBudget::new(cores, pool).map(CpuBudget::cores),
                expected,
                "{name}"
            );
        }
        assert!(CpuBudget::new(f64::NAN, 4).is_err(), "NaN");
    }

    #[test]
    fn the_default_is_half_the_pool_and_at_least_half_a_core() {
        for (pool, cores) in [(0, 0.5), (1, 0.5), (2, 1.0), (3, 1.5), (15, 7.5)] {
            assert!((CpuBudget::default_cores(pool) - cores).abs() < f64::EPSILON);
            assert!(CpuBudget::new(CpuBudget::default_cores(pool), pool).is_ok());
        }
    }

    /// One thread, half a core, 1 s burst, 100 ms jobs: the flood timeline.
    #[test]
    fn a_burst_is_allowed_then_refused_then_admitted_again_once_the_debt_drains() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(0.5, Duration::from_secs(1), MS(100), t0);
        // Back-to-back 100 ms jobs: each adds 100 ms and drains 50 ms.
        let mut now = t0;
        let mut admitted = 0;
        let refusal = loop {
            match bucket.admit(now) {
                Ok(charge) => {
                    admitted += 1;
                    now += MS(100);
                    bucket.settle(charge, MS(100), now);
                }
                Err(wait) => break wait,
            }
            assert!(admitted < 100, "never refused");
        };
        // The burst: about 1 s / (100 ms − 50 ms) jobs before the first refusal.
        assert!((20..=22).contains(&admitted), "{admitted} admitted");
        let debt = bucket.debt(now);
        assert!(debt > 1.0 && debt <= 1.1, "debt {debt}");
        // Retry-After: the excess over the burst, drained at half a core.
        let expected = Duration::from_secs_f64((debt - 1.0) / 0.5);
        assert_eq!(refusal, expected);
        assert!(bucket.admit(now + refusal / 2).is_err(), "not yet drained");
        let later = now + refusal + MS(1);
        let charge = bucket.admit(later).expect("drained to the burst");
        bucket.settle(charge, MS(100), later + MS(100));
        // After a quiet spell the debt is gone: a full burst is available again.
        assert_eq!(bucket.debt(now + Duration::from_secs(10)), 0.0);
        assert_eq!(bucket.wait(now + Duration::from_secs(10)), Duration::ZERO);
    }

    #[test]
    fn jobs_in_flight_count_before_they_finish() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(1.0, Duration::from_secs(1), MS(300), t0);
        // A flood arrives at once: only the estimate stops it filling the queue.
        let charges: Vec<_> = (0..10).map_while(|_| bucket.admit(t0).ok()).collect();
        assert_eq!(charges.len(), 4, "0, 0.3, 0.6 and 0.9 s of debt are ≤ 1 s");
        assert!(bucket.admit(t0).is_err());
        // They turn out cheaper than expected: the difference is given back.
        for charge in charges {
            bucket.settle(charge, MS(100), t0);
        }
        assert!((bucket.debt(t0) - 0.4).abs() < 1e-9);
        assert!(bucket.admit(t0).is_ok());
    }

    #[test]
    fn the_estimate_follows_measured_costs_and_refunds_undo_charges() {
        let t0 = Instant::now();
        let mut bucket = LeakyBucket::new(1.0, Duration::from_secs(1), Duration::ZERO, t0);
        assert_eq!(bucket.admit(t0), Ok(Charge(0.0)), "no estimate yet");
        for _ in 0..20 {
            let charge = bucket.admit(t0).unwrap_or(Charge(0.0));
            bucket.settle(charge, MS(40), t0);
        }
        let charge = bucket.admit(t0).unwrap();
        assert!((charge.0 - 0.04).abs() < 0.001, "estimate {}", charge.0);
        let before = bucket.debt(t0);
        let extra = bucket.admit(t0).unwrap();
        bucket.refund(extra, t0);
        assert!((bucket.debt(t0) - before).abs() < 1e-12);
    }

    #[test]
    fn time_going_backwards_does_not_create_credit() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let mut bucket = LeakyBucket::new(1.0, Duration::from_secs(1), MS(500), t0);
        let charge = bucket.admit(t0).unwrap();
        bucket.settle(charge, Duration::from_secs(3), t0);
        assert_eq!(
            bucket.wait(t0 - Duration::from_secs(5)),
            Duration::from_secs(2)
        );
        assert_eq!(bucket.wait(t0 + Duration::from_secs(2)), Duration::ZERO);
    }
}
