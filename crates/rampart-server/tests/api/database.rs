//! Which database a `TestApp` runs on, and one fresh Postgres database per test.
//!
//! The API suite runs twice: on SQLite (target `api`) and on Postgres (target
//! `api_postgres`, when `RAMPART_TEST_POSTGRES_URL` names a server, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). Each Postgres test creates its own
//! database `rampart_test_<unix time>_<uuid>` through that URL and drops it (`WITH (FORCE)`)
//! when the last app using it is dropped; databases left by killed runs are dropped by
//! the next run once they are two hours old.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection as _, Executor as _, PgConnection};

/// The environment variable naming the Postgres server for the tests.
pub(crate) const POSTGRES_URL_VAR: &str = "RAMPART_TEST_POSTGRES_URL";

/// The database of the apps of one test target.
#[allow(dead_code, reason = "each target constructs only its own backend")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// The Postgres server URL, when the Postgres tests are to run.
pub(crate) fn server_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Says why a Postgres test is skipped, bypassing libtest's output capture.
pub(crate) fn notice_skipped(what: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "NOTICE: {POSTGRES_URL_VAR} is not set: {what} skipped (passing trivially). \
         Set it to a Postgres server, e.g. {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test"
    );
}

/// A database of its own on the test server, dropped with this value.
#[derive(Debug)]
pub(crate) struct TestDatabase {
    server: url::Url,
    name: String,
}

static SWEPT: AtomicBool = AtomicBool::new(false);

/// Older leftovers than this (from killed runs) are dropped by the next run.
const STALE_AFTER: Duration = Duration::from_secs(2 * 3600);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TestDatabase {
    /// A fresh empty database, or `None` when no server is configured.
    pub(crate) async fn create() -> Option<Self> {
        let server = server_url()?;
        let server = url::Url::parse(&server)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL: {e}"));
        let mut admin = PgConnection::connect(server.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to {POSTGRES_URL_VAR}: {e}"));
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_stale(&mut admin).await;
        }
        let name = format!(
            "rampart_test_{}_{}",
            unix_now(),
            uuid::Uuid::new_v4().simple()
        );
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        Some(Self { server, name })
    }

    /// The URL of this database.
    pub(crate) fn url(&self) -> String {
        let mut url = self.server.clone();
        url.set_path(&self.name);
        url.to_string()
    }

    /// The URL of this database through `host:port` (a proxy in front of the server).
    #[allow(dead_code, reason = "used by the multi-instance tests only")]
    pub(crate) fn url_via(&self, addr: std::net::SocketAddr) -> String {
        let mut url = self.server.clone();
        url.set_path(&self.name);
        url.set_host(Some(&addr.ip().to_string()))
            .expect("a Postgres URL has a host");
        url.set_port(Some(addr.port()))
            .expect("a Postgres URL has a port");
        url.to_string()
    }

    /// The address of the server.
    #[allow(dead_code, reason = "used by the multi-instance tests only")]
    pub(crate) fn server_addr(&self) -> String {
        format!(
            "{}:{}",
            self.server.host_str().unwrap_or("127.0.0.1"),
            self.server.port().unwrap_or(5432)
        )
    }

    /// A direct connection to this database (for assertions on stored rows).
    #[allow(dead_code, reason = "used by the multi-instance tests only")]
    pub(crate) async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url())
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.to_string();
        let name = std::mem::take(&mut self.name);
        // Drop runs on the test's runtime, which cannot block on itself: use a thread
        // with a runtime of its own. FORCE ends the connections the apps still hold.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(async {
                    let mut admin = PgConnection::connect(&server).await?;
                    admin
                        .execute(
                            format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str(),
                        )
                        .await?;
                    admin.close().await
                })
                .map_err(|e| format!("dropping {name}: {e}"))
        })
        .join();
        if let Ok(Err(e)) = dropped {
            let _ = writeln!(std::io::stderr(), "warning: {e}");
        }
    }
}

/// Drops test databases left behind by killed runs (never a recent one: another run on
/// the same server may be using it).
async fn sweep_stale(admin: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        r"SELECT datname FROM pg_database WHERE datname LIKE 'rampart\_test\_%'",
    )
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    let cutoff = unix_now().saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        let created = name
            .strip_prefix("rampart_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|t| t < cutoff) {
            let _ = admin
                .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                .await;
        }
    }
}
