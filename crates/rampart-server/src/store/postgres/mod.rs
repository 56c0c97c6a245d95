//! The Postgres store: several `rampart serve` instances on one database behave as one
//! server because every shared decision is made by the database, never in one process.
//!
//! - **Refresh rotation** is one conditional `UPDATE … WHERE used_at IS NULL … RETURNING`.
//!   Under READ COMMITTED a second UPDATE of the same row waits for the first to commit,
//!   re-checks its WHERE clause on the new row version and matches nothing: of concurrent
//!   presentations on any number of instances exactly one wins; the others find the
//!   token not current, and the rule above the store (`accounts::rotation`) revokes the
//!   family (RFC 9700 §4.14.2), as on SQLite.
//! - **Throttle counters** are one `INSERT … ON CONFLICT DO UPDATE … RETURNING` each; lock
//!   deadlines only grow (`GREATEST`); the jti denylist is an upsert.
//! - **Migrations and first start** (first signing key, first-party client, administrator)
//!   run under a session advisory lock held on a dedicated connection, so instances
//!   starting together on an empty database take turns ([`Store::startup_lock`]).
//! - **Operations**: pool size and acquire timeout from the configuration, a
//!   `statement_timeout` on every pooled connection, transient failures retried where
//!   that is safe ([`retry`]), everything else that means "the database cannot serve"
//!   surfaced as [`StoreError::Unavailable`] (503).
//!
//! Postgres `TEXT` cannot hold U+0000, which SQLite stores: lookups by a name or id that
//! contains it find nothing (it cannot have been stored), throttle keys containing it are
//! stored encoded, and audit fields have it replaced. A description containing it is
//! refused as an internal error.
//!
//! One file per entity group (`users.rs`, `roles.rs`, …), each SQL only.

mod audit;
mod browser;
mod clients;
mod codes;
mod keys;
mod refresh;
mod retry;
mod revocation;
mod roles;
mod throttle;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgTransactionManager};
use sqlx::{Connection as _, TransactionManager as _};

use super::{StartupLock, Store, StoreError, map_err};

/// Pool and timeout settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PostgresSettings {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a pooled connection before failing as unavailable.
    pub acquire_timeout: Duration,
    /// The longest a single statement may run (`statement_timeout`).
    pub statement_timeout: Duration,
}

/// How long a starting instance waits for another one's migrations and first start.
const STARTUP_LOCK_WAIT: &str = "60s";

/// The session advisory lock that serialises migrations and first-start work across
/// instances ("rampart1" in ASCII; sqlx's migrator takes its own, different one inside).
const STARTUP_LOCK: i64 = 0x7261_6d70_6172_7431;
/// The advisory lock that serialises [`UserStore::change_user`](crate::store::UserStore::change_user) ("rampart2").
const USER_CHANGE_LOCK: i64 = 0x7261_6d70_6172_7432;

/// PostgreSQL implementation of [`Store`] (and of each entity trait, one file each).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The URL's options without the statement timeout, for dedicated connections.
    options: PgConnectOptions,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://` or `postgresql://`); fails when the database cannot
    /// be reached now.
    pub async fn connect(url: &str, settings: PostgresSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid Postgres URL: {e}")))?
            .application_name("rampart");
        let statement_timeout = format!("{}ms", settings.statement_timeout.as_millis().max(1));
        let pooled = options
            .clone()
            .options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            // A connection that died while idle (database restart) is replaced, not used.
            .test_before_acquire(true)
            .after_release(|conn, _| Box::pin(release_outside_transaction(conn)))
            .connect_with(pooled)
            .await
            .map_err(map_err)?;
        Ok(Self { pool, options })
    }

    /// A connection outside the pool for holding the startup lock: no statement timeout
    /// (migrations may run long), a bounded wait for the lock instead.
    async fn dedicated(&self) -> Result<PgConnection, StoreError> {
        let options = self.options.clone().options([
            ("statement_timeout", "0"),
            ("lock_timeout", STARTUP_LOCK_WAIT),
            // Not "relation _sqlx_migrations already exists" on every start.
            ("client_min_messages", "warning"),
        ]);
        PgConnection::connect_with(&options).await.map_err(map_err)
    }
}

/// Rolls back a connection that comes back to the pool inside a transaction sqlx knows
/// of. The safety net behind [`detached`], which is what covers a transaction abandoned
/// while its `BEGIN` was in flight (sqlx does not count that one).
async fn release_outside_transaction(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::warn!("a pooled Postgres connection came back inside a transaction: rolling back");
        PgTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

/// Whether `s` can be stored in a Postgres `TEXT` column at all.
fn storable(s: &str) -> bool {
    !s.contains('\0')
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.dedicated().await?;
        lock_startup(&mut conn).await?;
        let outcome = run_migrations(&mut conn).await;
        // Ending the session releases its advisory lock.
        let _ = conn.close().await;
        outcome
    }

    fn pool_stats(&self) -> Option<(u32, usize)> {
        // sqlx's idle count can read high for a moment (see the SQLite store): clamped.
        let size = self.pool.size();
        let idle = self
            .pool
            .num_idle()
            .min(usize::try_from(size).unwrap_or(usize::MAX));
        Some((size, idle))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Not retried: readiness reports the database as it is.
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn startup_lock(&self) -> Result<StartupLock, StoreError> {
        let mut conn = self.dedicated().await?;
        lock_startup(&mut conn).await?;
        // Held until the connection is dropped: the session ends, the lock with it.
        Ok(StartupLock::holding(conn))
    }
}

/// Waits (up to the dedicated connection's `lock_timeout`) for the startup lock.
async fn lock_startup(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(STARTUP_LOCK)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(map_err)
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs the migrations on `conn` (which holds the startup lock). `run_direct` rather than
/// `run`: sqlx's own workaround for `run`'s `Acquire` bound, which fails the higher-ranked
/// `Send` check inside `#[async_trait]`.
async fn run_migrations(conn: &mut PgConnection) -> Result<(), StoreError> {
    MIGRATOR
        .run_direct(conn)
        .await
        .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
}
