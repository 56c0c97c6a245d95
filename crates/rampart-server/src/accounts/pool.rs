//! A dedicated pool of OS threads for password hashing, with a bounded queue and a CPU
//! budget.
//!
//! Why not `spawn_blocking`: tokio's blocking pool grows to hundreds of threads, so a
//! login flood would take every core and starve the async workers that serve protected
//! routes. Here hashing runs on exactly `workers` threads (default: cores − 1), and when
//! `queue` jobs are already waiting a new one is refused at once (the token endpoint
//! answers 503 + `Retry-After`) instead of queueing without bound. The optional
//! [`CpuBudget`] also bounds the average CPU the threads take (see [`super::budget`]);
//! over budget, a job is refused the same way.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::budget::{BURST_PER_THREAD, Charge, CpuBudget, LeakyBucket};

type Job = Box<dyn FnOnce() + Send>;

/// Why a job was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: try again later.
    #[error("the password hashing queue is full")]
    Busy,
    /// Hashing has used its CPU budget: try again after the given time.
    #[error("password hashing is over its CPU budget")]
    OverBudget(Duration),
    /// The pool's threads are gone.
    #[error("the password hashing pool has stopped")]
    Stopped,
}

/// Jobs refused at once since the pool started, by reason (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    /// The queue was full.
    pub queue_full: u64,
    /// The CPU budget was spent.
    pub cpu_budget: u64,
}

#[derive(Debug, Default)]
struct RefusalCounts {
    queue_full: AtomicU64,
    cpu_budget: AtomicU64,
}

/// The pool. Cloning shares it; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct HashPool {
    sender: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    workers: usize,
    capacity: usize,
    budget: Option<Arc<Mutex<LeakyBucket>>>,
    refusals: Arc<RefusalCounts>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .field("queued", &self.queued())
            .field("budget", &self.budget.is_some())
            .finish()
    }
}

fn lock(bucket: &Mutex<LeakyBucket>) -> MutexGuard<'_, LeakyBucket> {
    // The bucket is plain numbers, valid after any panic.
    bucket.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HashPool {
    /// Starts `workers` threads (at least 1) with room for `queue` waiting jobs, spending
    /// at most `budget`; `typical_job` is the expected cost of one job until some ran.
    pub fn new(
        workers: usize,
        queue: usize,
        budget: CpuBudget,
        typical_job: Duration,
    ) -> std::io::Result<Self> {
        let workers = workers.max(1);
        // Reservations bound jobs waiting or running to `workers + queue`; the channel
        // holds as many, so that a reserved job always finds room in it.
        let (sender, receiver) = mpsc::sync_channel::<Job>(workers + queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver: Arc<Mutex<Receiver<Job>>> = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("rampart-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every sender dropped
                        }
                    }
                })?;
        }
        let budget = budget.cores().map(|cores| {
            let burst = BURST_PER_THREAD.saturating_mul(u32::try_from(workers).unwrap_or(u32::MAX));
            Arc::new(Mutex::new(LeakyBucket::new(
                cores,
                burst,
                typical_job,
                Instant::now(),
            )))
        });
        Ok(Self {
            sender,
            queued: Arc::new(AtomicUsize::new(0)),
            workers,
            capacity: queue,
            budget,
            refusals: Arc::default(),
        })
    }

    /// Jobs waiting or running now (for metrics).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Jobs refused at once so far, by reason.
    pub fn refusals(&self) -> Refusals {
        Refusals {
            queue_full: self.refusals.queue_full.load(Ordering::Relaxed),
            cpu_budget: self.refusals.cpu_budget.load(Ordering::Relaxed),
        }
    }

    /// How long until the CPU budget admits a job again (zero: now, or no budget).
    pub fn budget_wait(&self) -> Duration {
        self.budget
            .as_ref()
            .map_or(Duration::ZERO, |bucket| lock(bucket).wait(Instant::now()))
    }

    /// Reserves room for one job: a place in the queue and, with a budget, an advance
    /// charge against it. Refuses at once when the budget is spent or the queue is full.
    ///
    /// Reserving before the work is known lets a caller refuse a request before it does
    /// anything else for it: under a login flood the token endpoint answers 503 without
    /// the store lookups that would otherwise precede every refusal. Dropping the slot
    /// unused gives both back.
    pub fn reserve(&self) -> Result<Slot, PoolError> {
        // Running, waiting and reserved jobs together: at most one running per thread
        // plus `capacity` waiting, the bound the channel alone gave before reservations.
        let limit = self.workers + self.capacity;
        let counted = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            });
        if counted.is_err() {
            self.refusals.queue_full.fetch_add(1, Ordering::Relaxed);
            return Err(PoolError::Busy);
        }
        // From here on, dropping `slot` gives the place back.
        let mut slot = Slot {
            pool: self.clone(),
            charge: None,
            taken: false,
        };
        if let Some(bucket) = &self.budget {
            match lock(bucket).admit(Instant::now()) {
                Ok(charge) => slot.charge = Some((Arc::clone(bucket), charge)),
                Err(wait) => {
                    self.refusals.cpu_budget.fetch_add(1, Ordering::Relaxed);
                    return Err(PoolError::OverBudget(wait));
                }
            }
        }
        Ok(slot)
    }

    /// Runs `work` on the pool, or refuses at once when the budget is spent or the queue
    /// is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        self.reserve()?.run(work).await
    }
}

/// Room for one job on the pool, from [`HashPool::reserve`]. Dropped unused, it returns
/// its place in the queue and its budget charge.
#[must_use = "a reserved slot holds a place in the hashing queue until it is run or dropped"]
pub struct Slot {
    pool: HashPool,
    charge: Option<(Arc<Mutex<LeakyBucket>>, Charge)>,
    /// The place was handed to a job: nothing to give back on drop.
    taken: bool,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("charged", &self.charge.is_some())
            .finish_non_exhaustive()
    }
}

impl Slot {
    fn refund(&mut self) {
        if let Some((bucket, charge)) = self.charge.take() {
            lock(&bucket).refund(charge, Instant::now());
        }
    }

    /// Runs `work` in the reserved place.
    pub async fn run<T: Send + 'static>(
        mut self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = Arc::clone(&self.pool.queued);
        let settle = self.charge.clone();
        let job: Job = Box::new(move || {
            // Timed on the hashing thread: queueing is not hashing.
            let started = Instant::now();
            let result = work();
            if let Some((bucket, charge)) = settle {
                let ended = Instant::now();
                lock(&bucket).settle(charge, ended - started, ended);
            }
            queued.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        match self.pool.sender.try_send(job) {
            Ok(()) => {
                // The job owns the place and settles the charge now.
                self.taken = true;
                self.charge = None;
                rx.await.map_err(|_| PoolError::Stopped)
            }
            // Not expected: the channel has room for every reservation. Refused like a
            // full queue; drop gives the place and the charge back.
            Err(TrySendError::Full(_)) => {
                self.pool
                    .refusals
                    .queue_full
                    .fetch_add(1, Ordering::Relaxed);
                Err(PoolError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(PoolError::Stopped),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.refund();
        if !self.taken {
            self.pool.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_recovers() {
        let pool = HashPool::new(1, 1, CpuBudget::UNLIMITED, Duration::ZERO).unwrap();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        // One job runs (blocked), one waits in the queue.
        let blocker = {
            let pool = pool.clone();
            let rx = Arc::clone(&release_rx);
            tokio::spawn(async move { pool.run(move || rx.lock().unwrap().recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        assert_eq!(pool.run(|| 1).await, Err(PoolError::Busy));
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "refused without waiting"
        );
        release_tx.send(()).unwrap();
        assert!(blocker.await.unwrap().is_ok());
        assert_eq!(waiting.await.unwrap(), Ok(7));
        assert_eq!(pool.run(|| 2).await, Ok(2));
        assert_eq!(pool.queued(), 0);
        assert_eq!(
            pool.refusals(),
            Refusals {
                queue_full: 1,
                cpu_budget: 0
            }
        );
    }

    #[tokio::test]
    async fn over_budget_refuses_at_once_and_a_cheap_job_pays_back_its_estimate() {
        // Half a core, 1 s burst, jobs expected to cost 2 s: one in flight spends it all.
        let budget = CpuBudget::new(0.5, 1).unwrap();
        let pool = HashPool::new(1, 4, budget, Duration::from_secs(2)).unwrap();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let blocker = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || release_rx.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let Err(PoolError::OverBudget(wait)) = pool.run(|| 1).await else {
            panic!("admitted over budget");
        };
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "refused without waiting"
        );
        // (2 s − 1 s burst) at half a core, less what drained since.
        assert!(
            wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
        assert!(pool.budget_wait() <= wait);
        release_tx.send(()).unwrap();
        assert!(blocker.await.unwrap().is_ok());
        // It measured ~50 ms, not 2 s: the difference was given back.
        assert_eq!(pool.budget_wait(), Duration::ZERO);
        assert_eq!(pool.run(|| 2).await, Ok(2));
        assert_eq!(
            pool.refusals(),
            Refusals {
                queue_full: 0,
                cpu_budget: 1
            }
        );
    }

    #[tokio::test]
    async fn a_reserved_place_counts_against_the_queue_and_comes_back_when_dropped() {
        // One thread, no waiting room: one reservation fills the pool.
        let budget = CpuBudget::new(0.5, 1).unwrap();
        let pool = HashPool::new(1, 0, budget, Duration::from_millis(400)).unwrap();
        let slot = pool.reserve().unwrap();
        assert_eq!(pool.queued(), 1);
        assert_eq!(pool.reserve().unwrap_err(), PoolError::Busy);
        assert_eq!(pool.run(|| 1).await, Err(PoolError::Busy));
        drop(slot);
        assert_eq!(pool.queued(), 0);
        // A full queue refuses before charging the budget, and a dropped slot returns its
        // charge (the next test checks that on the debt itself): jobs still fit the burst.
        let a = pool.reserve().unwrap();
        drop(a);
        let b = pool.reserve().unwrap();
        assert_eq!(b.run(|| 5).await, Ok(5));
        assert_eq!(pool.queued(), 0);
        let c = pool.reserve().unwrap();
        assert_eq!(c.run(|| 6).await, Ok(6));
        assert_eq!(
            pool.refusals(),
            Refusals {
                queue_full: 2,
                cpu_budget: 0
            }
        );
    }

    #[tokio::test]
    async fn reservations_over_budget_are_refused_before_any_work() {
        // Half a core, 1 s burst, jobs expected to cost 0.6 s: the second reservation held
        // at the same time would exceed the burst.
        let budget = CpuBudget::new(0.5, 1).unwrap();
        let pool = HashPool::new(1, 4, budget, Duration::from_millis(600)).unwrap();
        let first = pool.reserve().unwrap();
        let second = pool.reserve().unwrap();
        let Err(PoolError::OverBudget(wait)) = pool.reserve() else {
            panic!("reserved over budget");
        };
        assert!(wait > Duration::ZERO);
        assert_eq!(pool.queued(), 2, "a refusal holds no place");
        drop((first, second));
        assert_eq!(pool.queued(), 0);
        assert_eq!(pool.budget_wait(), Duration::ZERO);
    }
}
