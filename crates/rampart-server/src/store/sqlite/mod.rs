//! The SQLite store: one file, WAL, foreign keys on, busy timeout.
//!
//! SQLite lets one connection write at a time. Writers sharing a pool of connections
//! wait for each other inside SQLite's busy handler, which sleeps and retries: under load
//! most of the time went to futexes and the scheduler, not to SQL. So every write goes
//! to the store's own writer (`writer.rs`): one task on one connection that commits the
//! writes queued up together in one transaction (group commit). Reads go to a separate
//! pool of connections that refuse writes (`query_only`), which WAL lets read alongside
//! the writer.
//!
//! The entity files (`users.rs`, `roles.rs`, …) reach the database only through
//! `SqliteStore::write` (a closure run as one unit by the writer) and
//! `SqliteStore::reader`.

mod audit;
mod browser;
mod clients;
mod codes;
mod keys;
mod reader;
mod refresh;
mod revocation;
mod roles;
mod throttle;
mod users;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    SqliteTransactionManager,
};
use sqlx::{Connection as _, Sqlite, SqliteConnection, SqlitePool, TransactionManager as _};

use self::reader::{Reader, ReaderPool};
use self::writer::Writer;
use super::{Store, StoreError, map_err};

/// How long a query waits for a connection (the writer queue included).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite implementation of [`Store`] (and of each entity trait, one file each).
///
/// Every write transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
/// reads first and writes later fails at once with `SQLITE_BUSY` (the busy timeout does
/// not apply to that upgrade) when another connection wrote in between (the CLI, or a
/// second process on the same file).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The pool of the one connection that writes: the writer's, and the migrations'.
    writes: SqlitePool,
    /// The group-commit writer every write goes through.
    writer: Writer,
    /// Connections that only read (`query_only`); none for an in-memory database, which
    /// exists only on its one connection: the writer's pool then serves reads too.
    readers: Option<Arc<ReaderPool>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) with one writer and `readers` read-only connections.
    pub async fn connect(url: &str, readers: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let single = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file: a ping before each use tests nothing (sqlx pings on release
            // anyway) and would cost a worker round trip per query.
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(release_outside_transaction(conn)));
        if in_memory(url) {
            // The database lives as long as its connection: keep that one open for good.
            let only = single
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(map_err)?;
            return Ok(Self {
                writer: Writer::start(only.clone()),
                writes: only,
                readers: None,
            });
        }
        // The writer first: it creates the file and switches it to WAL.
        let writes = single
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        // `query_only` refuses writes as a read-only open would, while the readers open
        // the file exactly as the writer does (flags, pragmas, WAL index).
        let readers =
            ReaderPool::open(options.pragma("query_only", "ON"), readers, ACQUIRE_TIMEOUT).await?;
        Ok(Self {
            writer: Writer::start(writes.clone()),
            writes,
            readers: Some(Arc::new(readers)),
        })
    }

    /// A connection for reads outside the writer.
    async fn read(&self) -> Result<Read<'_>, StoreError> {
        match &self.readers {
            Some(readers) => readers.acquire().await.map(Read::Own),
            None => self
                .writes
                .acquire()
                .await
                .map(Read::Shared)
                .map_err(map_err),
        }
    }

    /// Runs `work` as one unit (all its writes or none) on the writer, committed with
    /// whatever other writes are queued with it; returns once it has committed.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        self.writer.write(work).await
    }

    /// One statement as a write job: `sql` with what `bind` binds; returns the rows it
    /// changed. The entity files' single-statement writes all have this shape.
    async fn execute<B>(&self, sql: &'static str, bind: B) -> Result<u64, StoreError>
    where
        B: FnOnce(SqliteQuery) -> SqliteQuery + Send + 'static,
    {
        self.write(move |conn| {
            Box::pin(async move {
                bind(sqlx::query(sql))
                    .execute(conn)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(map_err)
            })
        })
        .await
    }
}

/// A statement with owned arguments, as [`SqliteStore::execute`] binds them.
type SqliteQuery = sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments<'static>>;

/// A read connection: from the readers' own pool, or (in memory) the writer's.
enum Read<'a> {
    Own(Reader<'a>),
    Shared(PoolConnection<Sqlite>),
}

impl std::ops::Deref for Read<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self {
            Read::Own(conn) => conn,
            Read::Shared(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Read<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            Read::Own(conn) => conn,
            Read::Shared(conn) => conn,
        }
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, `mode=memory`). Pure.
fn in_memory(url: &str) -> bool {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    path.ends_with(":memory:")
        || query
            .split('&')
            .any(|param| param.eq_ignore_ascii_case("mode=memory"))
}

/// Rolls back a connection that comes back to the pool still inside a transaction sqlx
/// knows of, so that the next user neither fails to begin one nor finds the write lock
/// taken. The writer (`writer.rs`) begins and ends its own transactions with plain
/// statements and always ends them; this is the safety net for anything else.
async fn release_outside_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::debug!("a pooled SQLite connection came back inside a transaction: rolling back");
        SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

/// Rolls back a transaction a failed statement or batch may have left open. A ROLLBACK that
/// fails for another reason than "no transaction is active" leaves the connection in an
/// unknown state: it is closed instead of returned (closing rolls back).
async fn end_open_transaction(conn: &mut PoolConnection<Sqlite>) {
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut **conn).await {
        let nothing_open = matches!(&e, sqlx::Error::Database(db) if db.message().contains("no transaction is active"));
        if !nothing_open {
            tracing::warn!(error = %e, "could not end a failed write transaction; closing its connection");
            conn.close_on_drop();
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writes)
            .await
            .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }

    /// Both pools together (one pool when the database is in memory).
    fn pool_stats(&self) -> Option<(u32, usize)> {
        // sqlx's idle count is an atomic its release path decrements before the matching
        // increment: for a moment it can read as `usize::MAX`. Clamped to the size.
        let size = self.writes.size();
        let mut idle = self
            .writes
            .num_idle()
            .min(usize::try_from(size).unwrap_or(usize::MAX));
        let mut size = size;
        if let Some(readers) = &self.readers {
            let (open, free) = readers.stats();
            size = size.saturating_add(open);
            idle = idle.saturating_add(free);
        }
        Some((size, idle))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read().await?)
            .await
            .map_err(map_err)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::{User, UserStore as _};

    fn user(name: &str) -> User {
        User {
            id: Uuid::new_v4(),
            username: name.to_owned(),
            password_hash: "h".to_owned(),
            disabled: false,
            created_at: 1,
            updated_at: 1,
            password_changed_at: 1,
            tokens_valid_after: 0,
            roles: vec!["user".to_owned()],
            profile: crate::store::Profile::default(),
        }
    }

    #[test]
    fn in_memory_urls_are_recognised() {
        let cases = [
            ("sqlite::memory:", true),
            ("sqlite://:memory:", true),
            ("sqlite://x.db?mode=memory&cache=shared", true),
            ("sqlite:///var/lib/rampart/rampart.db", false),
            ("sqlite://memory.db", false),
            ("sqlite://x.db?mode=rwc", false),
        ];
        for (url, expected) in cases {
            assert_eq!(in_memory(url), expected, "{url}");
        }
    }

    #[tokio::test]
    async fn a_file_database_has_one_writer_and_readers_that_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::connect(&url, 3).await.unwrap();
        store.migrate().await.unwrap();

        assert_eq!(store.writes.options().get_max_connections(), 1);
        let refused = sqlx::query("DELETE FROM users")
            .execute(&mut *store.read().await.unwrap())
            .await;
        assert!(refused.is_err(), "a reader wrote");
        // At most 3 read connections at once: the fourth waits for one to come back.
        let readers = store.readers.as_ref().unwrap();
        let held = futures_util::future::try_join_all((0..3).map(|_| readers.acquire()))
            .await
            .unwrap();
        let fourth = tokio::time::timeout(Duration::from_millis(100), readers.acquire()).await;
        assert!(fourth.is_err(), "a fourth reader was handed out");
        drop(held);
        assert!(readers.acquire().await.is_ok());
        // A write is visible to the readers as soon as it returns.
        store.create_user(&user("alice")).await.unwrap();
        assert!(store.user_by_username("alice").await.unwrap().is_some());
        let (size, _) = store.pool_stats().unwrap();
        assert!((2..=4).contains(&size), "{size} connections");
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_and_writes_on_its_one_connection() {
        let store = SqliteStore::connect("sqlite::memory:", 4).await.unwrap();
        store.migrate().await.unwrap();

        assert!(store.readers.is_none());
        store.create_user(&user("bob")).await.unwrap();
        assert!(store.user_by_username("bob").await.unwrap().is_some());
        assert_eq!(store.pool_stats().map(|(size, _)| size), Some(1));
    }
}
