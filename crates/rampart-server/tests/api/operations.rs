//! Operations: Prometheus metrics on their own listener, health, graceful shutdown that
//! drains in-flight requests (and the audit queue), `rampart user import` with
//! FastAPI-style hashes, the scope verbs, and CLI changes reaching a running server.

use std::ffi::OsStr;
use std::time::Duration;

use rampart_server::accounts::HashParams;
use serde_json::Value;

use crate::database::Backend;
use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW};

/// Arguments for [`TestApp::cli`].
fn args<'a>(items: &'a [&'a str]) -> Vec<&'a OsStr> {
    items.iter().map(OsStr::new).collect()
}

fn no_ip_rate(c: &mut rampart_server::Config) {
    c.login_rate_per_ip = 0;
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener() {
    let app = TestApp::spawn_with(no_ip_rate).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let token = app.login("admin", ADMIN_PW, None).await.access_token;
    app.me(&token).await;
    app.me("garbage.token.here").await;
    app.password_grant("admin", "wrong password!", None, ClientAuth::FirstParty)
        .await;

    let text = app.metrics_text().await;
    for needle in [
        r#"rampart_http_requests_total{route="/healthz",method="GET",status="200"} 1"#,
        r#"rampart_http_request_duration_seconds_bucket{le="#,
        r#"rampart_logins_total{outcome="success"} 1"#,
        r#"rampart_logins_total{outcome="failure"} 1"#,
        r#"rampart_token_validations_total{outcome="valid"} 1"#,
        r#"rampart_token_validations_total{outcome="malformed"} 1"#,
        "rampart_password_hash_queue_depth",
        "rampart_db_pool_connections",
        "rampart_signing_key_reloads_total",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "metrics are never on the public listener"
    );
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests_then_stops_accepting() {
    let app = TestApp::spawn_with(|c| {
        no_ip_rate(c);
        // Slow hashing makes a login a long request.
        c.password_hash = HashParams {
            memory_kib: 64 * 1024,
            iterations: 4,
            parallelism: 1,
        };
    })
    .await;
    let in_flight = app.password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty);
    let stop = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        // The server's end, to await once the in-flight answer is in.
        Some(app.stop())
    };
    let (response, server) = tokio::join!(in_flight, stop);
    let server = server.unwrap();
    assert_eq!(response.status(), 200, "the in-flight request completes");
    tokio::time::timeout(Duration::from_secs(25), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(app.address).await.is_err(),
        "no longer accepting connections"
    );
}

/// Holds the audit table's write lock from another connection until released.
enum Locker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Locker {
    async fn lock(url: &str) -> Self {
        use sqlx::Connection as _;
        match crate::BACKEND {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                // EXCLUSIVE conflicts with the ROW EXCLUSIVE an INSERT takes.
                sqlx::query("LOCK TABLE audit_events IN EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Self::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Self::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
            Self::Postgres(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn audit_events_still_queued_at_shutdown_are_stored_before_the_server_stops() {
    let app = TestApp::spawn_with(no_ip_rate).await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    // Another connection holds the write lock: the audit writer has to wait for it.
    let locker = Locker::lock(app.database_url()).await;

    // A grant that only reads: it is answered while its audit event waits in the queue.
    let grant = app.client_credentials(None, client.auth()).await;
    assert_eq!(grant.status(), 200);
    let released = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        locker.release().await;
    });
    tokio::time::timeout(Duration::from_secs(25), app.stop())
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    released.await.unwrap();

    // What the database holds, seen through a fresh server on it.
    let after = app.restarted().await;
    let admin = after.admin_token().await;
    let events: Value = after
        .admin(
            reqwest::Method::GET,
            "/admin/audit?kind=client_credentials",
            &admin,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(1),
        "the grant's audit event was stored before the server stopped: {events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_imported_from_a_fastapi_app_log_in_with_their_old_passwords_and_are_rehashed() {
    let app = TestApp::spawn_with(no_ip_rate).await;
    let dir = tempfile::tempdir().unwrap();
    let bcrypt_hash = bcrypt::hash("wonderland-password", 4).unwrap();
    let argon_hash = {
        use argon2::password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng};
        argon2::Argon2::default()
            .hash_password(b"looking-glass-pw", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    };
    // argon2 PHC strings contain commas: a CSV writer quotes them.
    let csv = format!(
        "username,password_hash,roles\nalice,{bcrypt_hash},user\nBob,\"{argon_hash}\",user admin\n"
    );
    let good = dir.path().join("users.csv");
    std::fs::write(&good, csv).unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{{\"username\":\"carol\",\"password_hash\":\"{bcrypt_hash}\",\"roles\":[\"user\"]}}\n{{\"username\":\"dave\",\"password_hash\":\"plaintext\"}}\n"
        ),
    )
    .unwrap();
    let import = |file: &std::path::Path| {
        app.cli(&[
            OsStr::new("user"),
            OsStr::new("import"),
            file.as_os_str(),
            OsStr::new("--argon2-memory-kib"),
            OsStr::new("1024"),
        ])
    };
    let ok = import(&good);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("imported 2 users"));
    let failed = import(&bad);
    assert!(!failed.status.success());
    let out = String::from_utf8_lossy(&failed.stdout);
    assert!(out.contains("line 2: unsupported hash format"), "{out}");
    assert!(
        out.contains("imported 0 users"),
        "all or nothing per batch: {out}"
    );

    for (user, pw) in [
        ("alice", "wonderland-password"),
        ("bob", "looking-glass-pw"),
    ] {
        let res = app
            .password_grant(user, pw, None, ClientAuth::FirstParty)
            .await;
        assert_eq!(res.status(), 200, "{user}");
        let stored = app
            .state
            .store
            .user_by_username(user)
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored
                .password_hash
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{user} rehashed: {}",
            stored.password_hash
        );
    }
    assert!(
        app.state
            .store
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
}

/// `rampart scope create|list|delete`, then a role over the new scope: the CLI recipe of
/// the README works without the admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_created_listed_and_deleted_from_the_cli() {
    let app = TestApp::spawn().await;
    let rampart = |items: &[&str]| {
        let out = app.cli(&args(items));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = rampart(&[
        "scope",
        "create",
        "notes:read",
        "--description",
        "Read notes",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("scope notes:read"), "{out}");
    let (ok, _, err) = rampart(&["role", "create", "notes-reader", "--scope", "notes:read"]);
    assert!(ok, "a role over the new scope: {err}");
    let (ok, out, _) = rampart(&["scope", "list"]);
    assert!(ok);
    for name in ["admin", "notes:read  Read notes", "profile (default)"] {
        assert!(out.contains(name), "{name} in {out}");
    }

    let (ok, _, err) = rampart(&["scope", "create", "bad scope"]);
    assert!(!ok && err.contains("scope name"), "{err}");
    let (ok, _, err) = rampart(&["scope", "delete", "admin"]);
    assert!(!ok && err.contains("built-in"), "{err}");
    let (ok, out, err) = rampart(&["scope", "delete", "notes:read"]);
    assert!(ok, "{err}");
    assert!(out.contains("deleted scope notes:read"));
    let (_, out, _) = rampart(&["scope", "list"]);
    assert!(!out.contains("notes:read"), "{out}");
    let (ok, _, err) = rampart(&["scope", "delete", "notes:read"]);
    assert!(!ok && err.contains("not found"), "{err}");
}

/// A user disabled with the CLI (another process on the same database) loses access on
/// the running server within its reload interval: the change bumped `access_epoch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_from_the_cli_loses_access_on_the_running_server_within_the_reload_interval()
 {
    let app = TestApp::spawn_with(no_ip_rate).await;
    app.given_user("carl", &["user"]).await;
    let carl = app.login("carl", USER_PW, None).await.access_token;
    assert_eq!(app.me(&carl).await.status(), 200);

    let out = app.cli(&args(&["user", "disable", "carl"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let started = std::time::Instant::now();
    loop {
        let status = app.me(&carl).await.status();
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < rampart_server::keys::RELOAD_EVERY + Duration::from_secs(3),
            "still {status} after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
