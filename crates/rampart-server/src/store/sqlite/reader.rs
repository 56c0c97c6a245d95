//! The SQLite store's read connections: a small pool of its own.
//!
//! sqlx's pool pings every connection it takes back (`return_to_pool` runs `ping()`
//! unconditionally, in a spawned task): on SQLite that is one more round trip to the
//! connection's worker thread per query, which doubled the hand-offs of a read-only
//! request (the client_credentials grant makes two reads). Read connections never hold a
//! transaction, so there is nothing for that ping to flush; this pool hands connections
//! out and takes them back without touching them. Hand-written because sqlx offers no
//! switch for that ping; it is a semaphore and a stack.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, SqliteConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::store::{StoreError, map_err};

/// At most `size` read-only connections, opened when first needed and kept.
#[derive(Debug)]
pub(super) struct ReaderPool {
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
    options: SqliteConnectOptions,
    open: AtomicU32,
    acquire_timeout: Duration,
}

impl ReaderPool {
    /// A pool of `size` connections opened with `options`; one is opened now, so that a
    /// bad file or URL fails at startup.
    pub(super) async fn open(
        options: SqliteConnectOptions,
        size: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let first = options.connect().await.map_err(map_err)?;
        Ok(Self {
            idle: Mutex::new(vec![first]),
            permits: Semaphore::new(usize::try_from(size.max(1)).unwrap_or(1)),
            options,
            open: AtomicU32::new(1),
            acquire_timeout,
        })
    }

    /// A connection, waiting at most the acquire timeout for one to be free.
    pub(super) async fn acquire(&self) -> Result<Reader<'_>, StoreError> {
        let permit = tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
            .await
            .map_err(|_| {
                StoreError::Unavailable("no SQLite read connection became free in time".to_owned())
            })?
            .map_err(|_| StoreError::Internal("the SQLite read pool is closed".to_owned()))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = self.options.connect().await.map_err(map_err)?;
                self.open.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(Reader {
            conn: Some(conn),
            pool: self,
            _permit: permit,
        })
    }

    /// Connections open, and of those idle.
    pub(super) fn stats(&self) -> (u32, usize) {
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        (self.open.load(Ordering::Relaxed), idle)
    }
}

/// A read connection, back to its pool when dropped.
pub(super) struct Reader<'a> {
    conn: Option<SqliteConnection>,
    pool: &'a ReaderPool,
    _permit: SemaphorePermit<'a>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl std::ops::DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // A query cut short (its caller hung up) leaves nothing behind on a read-only
        // connection: its worker stops stepping the statement, and sqlx resets a
        // statement before it runs it again.
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(conn);
        }
    }
}
