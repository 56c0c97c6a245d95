//! The store-owned SQLite writer: one task, one connection, group commit.
//!
//! Every write of the SQLite store is a *job*: a closure that runs its statements on the
//! writer's connection. One task takes the jobs in the order they were queued and runs
//! all that have queued up (at most [`GROUP_MAX`]) in one `BEGIN IMMEDIATE` transaction,
//! each inside its own savepoint, then commits once and only then answers each job. So:
//! - a job's writes are one unit: a job that fails is rolled back to its savepoint, alone,
//!   and the others of its group still commit;
//! - nothing is acknowledged before it is committed (in WAL mode a committed transaction
//!   is in the operating system's hands: it survives the process being killed);
//! - jobs commit in the order they were queued, and a job sees every earlier job's writes;
//! - the serial part of a write is the writer's own loop: no connection is handed from
//!   task to task between writes (each hand-off a wake-up on a busy runtime, which is what
//!   held the refresh grant at 1,364/s with a pool of one connection), and one `COMMIT`
//!   (one WAL append) serves a whole group.
//!
//! A job cannot be abandoned halfway: once queued it runs to its end on the writer's task,
//! whether or not its caller still waits (a caller that hangs up only loses the answer).
//! Hand-written because neither sqlx nor a crate we use offers group commit; the loop is
//! small and its rules are tested below and in the store's conformance suite.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Executor as _, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::store::{StoreError, map_err};

/// Jobs committed by one transaction at most: bounds the latency of the first job of a
/// group and the size of a rollback.
const GROUP_MAX: usize = 256;

/// Jobs waiting for the writer at most; a caller beyond that waits to queue its job.
const QUEUE_CAPACITY: usize = 4096;

/// Answers a job that wrote, with how its transaction ended.
type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What a job did, and how to answer its caller once the group's fate is known.
enum Ran {
    /// It wrote: answer with the value once the group commits, or with the commit's error.
    Wrote(Answer),
    /// It failed: its writes are undone; answer with its own error.
    Failed(Box<dyn FnOnce() + Send>),
}

/// A queued write, its value type erased.
trait Unit: Send {
    /// Runs the write on `conn`.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;
    /// Answers `e` without running the write.
    fn refuse(self: Box<Self>, e: StoreError);
}

struct Typed<T, F> {
    work: F,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Unit for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        let Self { work, answer } = *self;
        Box::pin(async move {
            // A panic in a job is that job's failure, not the writer's end.
            match AssertUnwindSafe(work(conn)).catch_unwind().await {
                Ok(Ok(value)) => Ran::Wrote(Box::new(move |committed| {
                    let _ = answer.send(committed.map(|()| value));
                })),
                Ok(Err(e)) => Ran::Failed(Box::new(move || {
                    let _ = answer.send(Err(e));
                })),
                Err(_) => Ran::Failed(Box::new(move || {
                    let _ = answer.send(Err(StoreError::Internal(
                        "a database write panicked; it was rolled back".to_owned(),
                    )));
                })),
            }
        })
    }

    fn refuse(self: Box<Self>, e: StoreError) {
        let _ = self.answer.send(Err(e));
    }
}

type Job = Box<dyn Unit>;

/// The handle the entity files write through (cheap to clone).
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer's task (on the current runtime) over `pool`, a pool of one
    /// connection. The task holds the connection while jobs keep coming and gives it back
    /// when the queue is empty, so what else uses the pool (migrations; the reads of an
    /// in-memory database) gets it between bursts. It ends when every handle is gone.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(pool, jobs));
        Self { queue }
    }

    /// Runs `work` as one unit on the writer's connection, inside the group's transaction,
    /// and returns its value once that transaction has committed. An error of `work`
    /// undoes everything `work` wrote and nothing else. `work` must not begin, commit or
    /// roll back a transaction itself.
    pub(super) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(Typed { work, answer });
        self.queue
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".to_owned()))?;
        answered.await.map_err(|_| {
            StoreError::Internal("the SQLite writer ended without answering a write".to_owned())
        })?
    }
}

/// The writer's loop.
async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(GROUP_MAX);
    while queue.recv_many(&mut jobs, GROUP_MAX).await > 0 {
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let e = map_err(e);
                tracing::warn!(error = %e, jobs = jobs.len(), "the SQLite writer has no connection");
                for job in jobs.drain(..) {
                    job.refuse(e.clone());
                }
                continue;
            }
        };
        loop {
            commit_group(&mut conn, jobs.drain(..)).await;
            // Keep the connection while more is waiting; give it back when idle.
            if queue.is_empty() || queue.recv_many(&mut jobs, GROUP_MAX).await == 0 {
                break;
            }
        }
    }
}

/// Runs `jobs` in as few transactions as it can (one, unless a group has to be given up),
/// each job in a savepoint; commits; answers each job once its transaction has ended.
async fn commit_group(conn: &mut PoolConnection<Sqlite>, jobs: impl Iterator<Item = Job>) {
    let mut jobs = jobs;
    while let Some(first) = jobs.next() {
        if let Err(e) = exec(conn, "BEGIN IMMEDIATE; SAVEPOINT job").await {
            // The file is locked by another process or cannot be written: nothing runs.
            tracing::warn!(error = %e, "the SQLite writer could not begin a transaction");
            super::end_open_transaction(conn).await;
            first.refuse(e.clone());
            for job in jobs {
                job.refuse(e.clone());
            }
            return;
        }
        let mut wrote: Vec<Answer> = Vec::new();
        let mut aborted = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job.run(conn).await {
                Ran::Wrote(answer) => wrote.push(answer),
                Ran::Failed(answer) => {
                    // Undo this job alone. When SQLite has already rolled the whole
                    // transaction back (disk full, I/O error) the savepoint is gone too,
                    // and the group is given up.
                    let undone = exec(conn, "ROLLBACK TO job").await;
                    answer();
                    if let Err(e) = undone {
                        aborted = Some(e);
                        break;
                    }
                }
            }
            let Some(job) = jobs.next() else { break };
            // The next savepoint in one round trip with the end of this one.
            if let Err(e) = exec(conn, "RELEASE job; SAVEPOINT job").await {
                job.refuse(e.clone());
                aborted = Some(e);
                break;
            }
            next = Some(job);
        }
        // COMMIT also ends the savepoint still open.
        let ended = match aborted {
            None => exec(conn, "COMMIT").await,
            Some(e) => Err(e),
        };
        if let Err(e) = &ended {
            tracing::warn!(error = %e, jobs = wrote.len(), "a group of SQLite writes was rolled back");
            super::end_open_transaction(conn).await;
        }
        for answer in wrote {
            answer(ended.clone());
        }
        // After a group given up, the jobs not yet run start a new one.
    }
}

/// Runs `sql` (a constant of this file) on `conn`. Boxed: an `async fn` taking the
/// connection would make the writer's task not provably `Send` (sqlx's executor lifetimes
/// are higher-ranked there).
fn exec<'c>(
    conn: &'c mut SqliteConnection,
    sql: &'static str,
) -> BoxFuture<'c, Result<(), StoreError>> {
    Box::pin(async move { conn.execute(sql).await.map(|_| ()).map_err(map_err) })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::super::SqliteStore;
    use crate::store::{Store as _, StoreError};

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let store = SqliteStore::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    /// Inserts scope `name` (and `also`, when given, in the same job).
    async fn insert(store: &SqliteStore, name: &str, also: Option<&str>) -> Result<(), StoreError> {
        let (name, also) = (name.to_owned(), also.map(str::to_owned));
        store
            .write(move |conn| {
                Box::pin(async move {
                    for scope in std::iter::once(name).chain(also) {
                        sqlx::query("INSERT INTO scopes (name, description) VALUES (?, '')")
                            .bind(scope)
                            .execute(&mut *conn)
                            .await
                            .map_err(crate::store::map_err)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    async fn scopes(store: &SqliteStore) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM scopes WHERE name LIKE 'w-%' ORDER BY name")
            .fetch_all(&mut *store.read().await.unwrap())
            .await
            .unwrap()
    }

    /// Holds the writer inside a job until `release` is notified, so that the writes
    /// queued meanwhile run together in the next group.
    async fn hold_writer(store: &SqliteStore) -> (Arc<Notify>, tokio::task::JoinHandle<()>) {
        let (release, started) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (held, store) = (Arc::clone(&release), store.clone());
        let running = Arc::clone(&started);
        let job = tokio::spawn(async move {
            store
                .write(move |_conn| {
                    Box::pin(async move {
                        running.notify_one();
                        held.notified().await;
                        Ok(())
                    })
                })
                .await
                .unwrap();
        });
        started.notified().await;
        (release, job)
    }

    #[tokio::test]
    async fn a_failing_job_is_undone_alone_and_its_group_commits() {
        let (_dir, store) = store().await;
        insert(&store, "w-taken", None).await.unwrap();
        let (release, holder) = hold_writer(&store).await;
        // Queued behind the held job: one group of four.
        let writes = [
            ("w-a", None),
            // Its first insert succeeds, its second conflicts: neither may stay.
            ("w-half", Some("w-taken")),
            ("w-b", None),
            ("w-taken", None),
        ];
        let pending: Vec<_> = writes
            .iter()
            .map(|(name, also)| {
                let store = store.clone();
                let (name, also) = (name.to_string(), also.map(str::to_owned));
                tokio::spawn(async move { insert(&store, &name, also.as_deref()).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.notify_one();
        holder.await.unwrap();
        let mut answers = Vec::new();
        for write in pending {
            answers.push(write.await.unwrap());
        }
        assert!(answers[0].is_ok());
        assert!(
            matches!(answers[1], Err(StoreError::Conflict)),
            "{:?}",
            answers[1]
        );
        assert!(answers[2].is_ok());
        assert!(
            matches!(answers[3], Err(StoreError::Conflict)),
            "{:?}",
            answers[3]
        );
        assert_eq!(scopes(&store).await, ["w-a", "w-b", "w-taken"]);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_goes_on() {
        let (_dir, store) = store().await;
        let panicked = store
            .write(|conn| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO scopes (name, description) VALUES ('w-lost', '')")
                        .execute(&mut *conn)
                        .await
                        .map_err(crate::store::map_err)?;
                    if std::hint::black_box(true) {
                        panic!("a bug in a job");
                    }
                    Ok(())
                })
            })
            .await;
        assert!(
            matches!(panicked, Err(StoreError::Internal(_))),
            "{panicked:?}"
        );
        insert(&store, "w-after", None).await.unwrap();
        assert_eq!(scopes(&store).await, ["w-after"]);
    }

    #[tokio::test]
    async fn writes_commit_in_the_order_they_were_queued() {
        let (_dir, store) = store().await;
        // Each job appends its number to one row; the row tells the order they ran in.
        insert(&store, "w-order", None).await.unwrap();
        let (release, holder) = hold_writer(&store).await;
        let mut pending = Vec::new();
        for n in 0..50 {
            let store = store.clone();
            pending.push(tokio::spawn(async move {
                store
                    .write(move |conn| {
                        Box::pin(async move {
                            sqlx::query("UPDATE scopes SET description = description || ? || ' ' WHERE name = 'w-order'")
                                .bind(n)
                                .execute(&mut *conn)
                                .await
                                .map_err(crate::store::map_err)
                                .map(|_| ())
                        })
                    })
                    .await
            }));
            // Queue them one after the other.
            tokio::task::yield_now().await;
        }
        release.notify_one();
        holder.await.unwrap();
        for write in pending {
            write.await.unwrap().unwrap();
        }
        let order: String =
            sqlx::query_scalar("SELECT description FROM scopes WHERE name = 'w-order'")
                .fetch_one(&mut *store.read().await.unwrap())
                .await
                .unwrap();
        let ran: Vec<i32> = order
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let mut sorted = ran.clone();
        sorted.sort_unstable();
        assert_eq!(ran.len(), 50);
        assert_eq!(ran, sorted, "jobs ran out of queue order");
    }
}
