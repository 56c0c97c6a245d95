//! Operations: Prometheus metrics on their own listener, health, graceful shutdown that
//! drains in-flight requests, `rampart user import` with FastAPI-style hashes, the scope
//! verbs, and CLI changes reaching a running server.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rampart_server::accounts::HashParams;
use rampart_server::{Application, Config};
use secrecy::SecretString;
use serde_json::Value;

const ADMIN_PW: &str = "bootstrap-admin-password";

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::for_tests(dir);
    config.bootstrap_admin_password = Some(SecretString::from(ADMIN_PW));
    config.login_rate_per_ip = 0;
    config
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config(dir.path())).await.unwrap();
    let (addr, metrics) = (app.address(), app.metrics_address().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let token: Value = http
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = token["access_token"].as_str().unwrap();
    http.get(format!("http://{addr}/users/me"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap();
    http.get(format!("http://{addr}/users/me"))
        .bearer_auth("garbage.token.here")
        .send()
        .await
        .unwrap();
    http.post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();

    let text = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let public = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        404,
        "metrics are never on the public listener"
    );
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests_then_stops_accepting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // Slow hashing makes a login a long request.
    config.password_hash = HashParams {
        memory_kib: 64 * 1024,
        iterations: 4,
        parallelism: 1,
    };
    let app = Application::build(config).await.unwrap();
    let addr = app.address();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move {
            http.post(format!("http://{addr}/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "admin"),
                    ("password", ADMIN_PW),
                ])
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    stop_tx.send(()).unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), 200);
    tokio::time::timeout(Duration::from_secs(25), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting connections"
    );
}

#[tokio::test]
async fn audit_events_still_queued_at_shutdown_are_stored_before_the_server_stops() {
    use sqlx::{Connection as _, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config(dir.path())).await.unwrap();
    let addr = app.address();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
            ("scope", "admin"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created: Value = http
        .post(format!("http://{addr}/admin/clients"))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"name": "svc", "confidential": true, "grants": ["client_credentials"], "scopes": ["profile"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    // Another connection holds the write lock: the audit writer has to wait for it.
    let url = format!("sqlite://{}/rampart.db", dir.path().display());
    let mut locker = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut locker)
        .await
        .unwrap();

    // A grant that only reads: it is answered while its audit event waits in the queue.
    let grant = http
        .post(format!("http://{addr}/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 200);
    let released = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    });
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(25), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let mut reader = SqliteConnection::connect(&url).await.unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE kind = 'client_credentials'")
            .fetch_one(&mut reader)
            .await
            .unwrap();
    assert_eq!(
        stored, 1,
        "the grant's audit event was stored before the server stopped"
    );
    released.await.unwrap();
}

#[tokio::test]
async fn users_imported_from_a_fastapi_app_log_in_with_their_old_passwords_and_are_rehashed() {
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
    let rampart = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["user", "import"])
            .arg(file)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--argon2-memory-kib")
            .arg("1024")
            .env("RAMPART_LOG", "warn")
            .output()
            .unwrap()
    };
    let ok = rampart(&good);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("imported 2 users"));
    let failed = rampart(&bad);
    assert!(!failed.status.success());
    let out = String::from_utf8_lossy(&failed.stdout);
    assert!(out.contains("line 2: unsupported hash format"), "{out}");
    assert!(
        out.contains("imported 0 users"),
        "all or nothing per batch: {out}"
    );

    let app = Application::build(config(dir.path())).await.unwrap();
    let addr = app.address();
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    for (user, pw) in [
        ("alice", "wonderland-password"),
        ("bob", "looking-glass-pw"),
    ] {
        let res = http
            .post(format!("http://{addr}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{user}");
        let stored = state.store.user_by_username(user).await.unwrap().unwrap();
        assert!(
            stored
                .password_hash
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{user} rehashed: {}",
            stored.password_hash
        );
    }
    assert!(
        state
            .store
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
}

/// `rampart scope create|list|delete`, then a role over the new scope: the CLI recipe of
/// the README works without the admin API.
#[test]
fn scopes_are_created_listed_and_deleted_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let rampart = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env("RAMPART_LOG", "warn")
            .output()
            .unwrap();
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

/// A user disabled with the CLI (another process on the same SQLite file) loses access on
/// the running server within its reload interval: the change bumped `access_epoch`.
#[tokio::test]
async fn a_user_disabled_from_the_cli_loses_access_on_the_running_server_within_the_reload_interval()
 {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(config(dir.path())).await.unwrap();
    let addr = app.address();
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
            ("scope", "admin profile"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap().to_owned();
    let created = http
        .post(format!("http://{addr}/admin/users"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"username": "carl", "password": "correct horse battery", "roles": ["user"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let carl: Value = http
        .post(format!("http://{addr}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "carl"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let carl = carl["access_token"].as_str().unwrap().to_owned();
    let me = |token: String| {
        let http = http.clone();
        async move {
            http.get(format!("http://{addr}/users/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(carl.clone()).await, 200);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["user", "disable", "carl", "--data-dir"])
        .arg(dir.path())
        .env("RAMPART_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let started = std::time::Instant::now();
    loop {
        let status = me(carl.clone()).await;
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
