//! A dedicated pool of OS threads for password hashing, with a bounded queue.
//!
//! Why not `spawn_blocking`: tokio's blocking pool grows to hundreds of threads, so a
//! login flood would take every core and starve the async workers that serve protected
//! routes. Here hashing runs on exactly `workers` threads (default: cores − 1), and when
//! `queue` jobs are already waiting a new one is refused at once (the token endpoint
//! answers 503 + `Retry-After`) instead of queueing without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// Why a job was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: try again later.
    #[error("the password hashing queue is full")]
    Busy,
    /// The pool's threads are gone.
    #[error("the password hashing pool has stopped")]
    Stopped,
}

/// The pool. Cloning shares it; the threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct HashPool {
    sender: SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    workers: usize,
    capacity: usize,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .field("queued", &self.queued())
            .finish()
    }
}

impl HashPool {
    /// Starts `workers` threads (at least 1) with room for `queue` waiting jobs.
    pub fn new(workers: usize, queue: usize) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
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
        Ok(Self {
            sender,
            queued: Arc::new(AtomicUsize::new(0)),
            workers,
            capacity: queue,
        })
    }

    /// Jobs waiting or running now (for metrics).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Runs `work` on the pool, or refuses at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = Arc::clone(&self.queued);
        queued.fetch_add(1, Ordering::Relaxed);
        let job: Job = Box::new(move || {
            let result = work();
            queued.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        match self.sender.try_send(job) {
            Ok(()) => rx.await.map_err(|_| PoolError::Stopped),
            Err(TrySendError::Full(_)) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                Err(PoolError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                Err(PoolError::Stopped)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_recovers() {
        let pool = HashPool::new(1, 1).unwrap();
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
    }
}
