//! Several instances on one Postgres database behave as one server: refresh rotation
//! raced across instances, key rotation and lockouts seen by every instance, instances
//! starting together on an empty database, and the database going away and coming back.
//!
//! Each test runs two or three `Application`s (each with its own data directory, all with
//! the same `RAMPART_MASTER_KEY`, as on separate machines) on a database of its own,
//! created through `RAMPART_TEST_POSTGRES_URL`. Without that variable every test prints a
//! notice and passes trivially; CI sets it.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

/// The database every `TestApp` of this target runs on.
const BACKEND: database::Backend = database::Backend::Postgres;

#[path = "api/database.rs"]
mod database;
#[allow(dead_code, reason = "the API suite's helpers; these tests use a few")]
#[path = "api/helpers.rs"]
mod helpers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_server::Config;
use rampart_server::clock::Clock;
use rampart_server::keys::RELOAD_EVERY;
use rampart_server::store::AuditRecord;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::database::TestDatabase;
use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW, jwt_parts};

/// The master key every instance shares (32 bytes, base64), so each can open the signing
/// keys the others sealed.
const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A database of this test's own, or `None` (after a notice) when no server is configured.
async fn database() -> Option<Arc<TestDatabase>> {
    let database = TestDatabase::create().await;
    if database.is_none() {
        database::notice_skipped("this multi-instance Postgres test is");
    }
    database.map(Arc::new)
}

/// One more instance on `database`, as on another machine.
async fn instance(database: &Arc<TestDatabase>, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_on(Some(Arc::clone(database)), |config| {
        config.master_key = Some(SecretString::from(MASTER_KEY));
        config.db_max_connections = 8;
        tweak(config);
    })
    .await
}

fn kid(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = serde_json::from_slice(&app.jwks().await).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn count(conn: &mut sqlx::PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_raced_across_two_instances_has_exactly_one_winner_and_the_family_is_revoked()
 {
    let Some(db) = database().await else { return };
    let a = instance(&db, |_| {}).await;
    let b = instance(&db, |_| {}).await;
    let refresh = a
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();

    // Twenty presentations at once, half on each instance.
    let attempts = (0..20).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.refresh(&refresh, None, ClientAuth::FirstParty)
    });
    let responses = futures_util::future::join_all(attempts).await;

    let mut winners = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => winners.push(response.json::<Value>().await.unwrap()),
            StatusCode::BAD_REQUEST => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "invalid_grant", "{body}");
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one presentation wins");
    let successor = winners[0]["refresh_token"].as_str().unwrap();
    let after = b.refresh(successor, None, ClientAuth::FirstParty).await;
    assert_eq!(
        after.status(),
        StatusCode::BAD_REQUEST,
        "the reuse revoked the whole family, the winner's new token included"
    );
    let mut conn = db.connect().await;
    let live = count(
        &mut conn,
        "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL",
    )
    .await;
    assert_eq!(live, 0, "no token of the family is left unrevoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_on_one_instance_reaches_the_others_jwks_within_the_reload_interval() {
    let Some(db) = database().await else { return };
    let a = instance(&db, |c| c.key_rotation_delay = Duration::ZERO).await;
    let b = instance(&db, |c| c.key_rotation_delay = Duration::ZERO).await;
    let before = a.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(b.me(&before).await.status(), StatusCode::OK);

    // Act: rotate on A, as `rampart keys rotate` would.
    let rotated = Instant::now();
    let (new_kid, _) = a.state.keys.rotate().await.unwrap();
    let from_a = a.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(kid(&from_a), new_kid, "A signs with the new key at once");

    // Assert: B publishes it within one reload interval (plus slack for a loaded machine).
    while !published_kids(&b).await.contains(&new_kid) {
        assert!(
            rotated.elapsed() < RELOAD_EVERY + Duration::from_secs(3),
            "B did not publish {new_kid} within {RELOAD_EVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.me(&from_a).await.status(),
        StatusCode::OK,
        "B trusts A's new tokens"
    );
    assert_eq!(
        b.me(&before).await.status(),
        StatusCode::OK,
        "and the old ones"
    );
    let from_b = b.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(kid(&from_b), new_kid, "B signs with the new key too");
    assert_eq!(a.me(&from_b).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failures_on_either_instance_add_up_and_a_lockout_on_one_is_enforced_by_the_other() {
    let Some(db) = database().await else { return };
    let start = 1_800_000_000;
    let a = instance(&db, |c| {
        c.clock = Clock::manual(start);
        c.login_rate_per_ip = 0;
    })
    .await;
    let b = instance(&db, |c| {
        c.clock = Clock::manual(start);
        c.login_rate_per_ip = 0;
    })
    .await;
    a.given_user("alice", &["user"]).await;

    // Five free failures per IP, split over both instances; the sixth locks the IP.
    for n in 0..6 {
        let app = if n % 2 == 0 { &a } else { &b };
        let wrong = app
            .password_grant("alice", "wrong password!", None, ClientAuth::FirstParty)
            .await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST, "failure {n}");
    }

    for (name, app) in [("A", &a), ("B", &b)] {
        let locked = app
            .password_grant("alice", USER_PW, None, ClientAuth::FirstParty)
            .await;
        assert_eq!(
            locked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{name} enforces the lock, even for the right password"
        );
        assert_eq!(locked.headers()["retry-after"], "1");
    }
    b.state.accounts.clock.advance(1);
    let after = b
        .password_grant("alice", USER_PW, None, ClientAuth::FirstParty)
        .await;
    assert_eq!(after.status(), StatusCode::OK, "the lock ends on time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_disabled_on_one_instance_is_refused_by_the_other_within_the_reload_interval() {
    let Some(db) = database().await else { return };
    let a = instance(&db, |_| {}).await;
    let b = instance(&db, |_| {}).await;
    let client = a
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    // B has the client in memory before the change.
    let before = b.client_credentials(None, client.auth()).await;
    assert_eq!(before.status(), StatusCode::OK);

    let admin = a.admin_token().await;
    let response = a
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/clients/{}", client.id),
            &admin,
            Some(serde_json::json!({"disabled": true})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(
        a.client_credentials(None, client.auth()).await.status(),
        StatusCode::UNAUTHORIZED,
        "A refuses at once"
    );
    let started = Instant::now();
    loop {
        let status = b.client_credentials(None, client.auth()).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK, "B before it catches up");
        assert!(
            started.elapsed() < RELOAD_EVERY + Duration::from_secs(3),
            "B still issues tokens to the disabled client after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "B refused the disabled client after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_audit_batch_is_stored_whole_or_not_at_all() {
    let Some(db) = database().await else { return };
    let app = instance(&db, |_| {}).await;
    let store = &app.state.store;
    let mut conn = db.connect().await;
    let before = count(&mut conn, "SELECT count(*) FROM audit_events").await;
    let events: Vec<AuditRecord> = (0..1201)
        .map(|n| AuditRecord {
            id: uuid::Uuid::new_v4(),
            at: 1,
            kind: "refresh".to_owned(),
            actor: Some(format!("user-{n}")),
            subject: (n % 2 == 0).then(|| "with \0 NUL".to_owned()),
            client_id: None,
            ip: Some("127.0.0.1".to_owned()),
            reason: None,
            details: serde_json::json!({"n": n}),
        })
        .collect();

    store.append_audit_batch(&events).await.unwrap();

    let stored = count(&mut conn, "SELECT count(*) FROM audit_events").await;
    assert_eq!(stored - before, 1201);
    let nul = count(
        &mut conn,
        "SELECT count(*) FROM audit_events WHERE subject = 'with \u{fffd} NUL'",
    )
    .await;
    assert_eq!(nul, 601, "U+0000 is replaced, as for a single event");
    let mut again = events.clone();
    for event in &mut again[1..] {
        event.id = uuid::Uuid::new_v4();
    }
    assert!(store.append_audit_batch(&again).await.is_err());
    let after = count(&mut conn, "SELECT count(*) FROM audit_events").await;
    assert_eq!(after, stored, "a batch with a repeated id stores nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_database_all_start_and_bootstrap_once() {
    let Some(db) = database().await else { return };

    let (a, b, c) = tokio::join!(
        instance(&db, |_| {}),
        instance(&db, |_| {}),
        instance(&db, |_| {}),
    );

    let mut conn = db.connect().await;
    for (what, sql) in [
        (
            "administrator",
            "SELECT COUNT(*) FROM users WHERE username = 'admin'",
        ),
        (
            "first-party client",
            "SELECT COUNT(*) FROM clients WHERE id = 'first-party'",
        ),
        ("signing key", "SELECT COUNT(*) FROM signing_keys"),
    ] {
        assert_eq!(count(&mut conn, sql).await, 1, "exactly one {what}");
    }
    let migrations = count(&mut conn, "SELECT COUNT(*) FROM _sqlx_migrations").await;
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "sql")
        })
        .count();
    assert_eq!(
        migrations,
        i64::try_from(files).unwrap(),
        "each migration applied once"
    );
    // One key from the start: a token from any instance is valid on every other at once.
    let token = a.login("admin", ADMIN_PW, None).await.access_token;
    assert_eq!(b.me(&token).await.status(), StatusCode::OK);
    assert_eq!(c.me(&token).await.status(), StatusCode::OK);
}

/// A TCP proxy in front of Postgres that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (accepting, spawned) = (Arc::clone(&open), Arc::clone(&links));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let upstream = upstream.clone();
                spawned.lock().unwrap().spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { addr, open, links }
    }

    /// The database becomes unreachable: open connections are cut, new ones closed.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.links.lock().unwrap().abort_all();
    }

    /// The database is reachable again.
    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Requests `GET /admin/users` (one store read each) until stopped; returns the statuses.
fn load(
    app: &Arc<TestApp>,
    token: String,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<StatusCode>> {
    let (app, stop) = (Arc::clone(app), Arc::clone(stop));
    tokio::spawn(async move {
        let mut statuses = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            statuses.push(app.list_users(&token, "limit=1").await.status());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses
    })
}

async fn wait_for_readiness(app: &TestApp, expected: StatusCode) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = app.get("/readyz").await.status();
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {status}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_unreachable_requests_get_503_and_service_resumes_when_it_returns() {
    let Some(db) = database().await else { return };
    let proxy = Proxy::start(db.server_addr()).await;
    let app = Arc::new(
        instance(&db, |c| {
            c.database_url = db.url_via(proxy.addr);
            c.db_acquire_timeout = Duration::from_secs(1);
        })
        .await,
    );
    let token = app.admin_token().await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(&app, token, &stop);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The database goes away under load …
    proxy.cut();
    wait_for_readiness(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    let body: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["store"], false, "{body}");
    let login = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(login.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_millis(500)).await;

    // … and comes back: no restart of the instance.
    proxy.restore();
    wait_for_readiness(&app, StatusCode::OK).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let statuses = running.await.unwrap();

    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "only 200 or 503, never a 500: {statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&StatusCode::OK), "{statuses:?}");
    app.login("admin", ADMIN_PW, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_by_the_database_are_replaced_and_reads_retried_without_errors() {
    // What clients see of a Postgres restart or failover: every backend terminated
    // (57P01), idle and busy connections alike.
    let Some(db) = database().await else { return };
    let app = Arc::new(instance(&db, |_| {}).await);
    let token = app.admin_token().await;
    let stop = Arc::new(AtomicBool::new(false));
    let running = load(&app, token, &stop);
    let mut admin = db.connect().await;

    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut admin)
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let statuses = running.await.unwrap();

    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "every read succeeded: {statuses:?}"
    );
    app.login("admin", ADMIN_PW, None).await;
}

#[tokio::test]
async fn a_statement_stuck_behind_a_lock_is_cancelled_by_the_statement_timeout_with_503() {
    let Some(db) = database().await else { return };
    let app = instance(&db, |c| c.db_statement_timeout = Duration::from_secs(1)).await;
    let mut blocker = db.connect().await;
    sqlx::raw_sql("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();

    let started = Instant::now();
    let stuck = app
        .password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;

    assert_eq!(stuck.status(), StatusCode::SERVICE_UNAVAILABLE);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(10),
        "cancelled after the 1 s statement timeout, not before and not much later: {waited:?}"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    app.login("admin", ADMIN_PW, None).await;
}

/// Polls `b` until `token` is refused on `/users/me`, at most one reload interval plus
/// slack; returns how long it took.
async fn refused_within_reload(b: &TestApp, token: &str, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        let status = b.me(token).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return started.elapsed();
        }
        // Until B catches up, /users/me itself may still answer 403 for a disabled
        // account (the handler reads the user); what must end is the token's validity.
        assert!(
            status == StatusCode::OK || status == StatusCode::FORBIDDEN,
            "{what}: unexpected status {status}"
        );
        assert!(
            started.elapsed() < RELOAD_EVERY + Duration::from_secs(3),
            "{what}: the other instance still accepts the token after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_disabled_or_a_session_revoked_on_one_instance_loses_access_on_the_other_within_the_reload_interval()
 {
    let Some(db) = database().await else { return };
    let a = instance(&db, |_| {}).await;
    let b = instance(&db, |_| {}).await;
    let admin = a.admin_token().await;
    let created = a.create_user(&admin, "dave", USER_PW, &["user"]).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.create_user(&admin, "erin", USER_PW, &["user"]).await;
    let dave = a.login("dave", USER_PW, None).await.access_token;
    let erin = a.login("erin", USER_PW, None).await;
    // B has both users' state cached before the changes.
    assert_eq!(b.me(&dave).await.status(), StatusCode::OK);
    assert_eq!(b.me(&erin.access_token).await.status(), StatusCode::OK);

    // Act: on A, disable dave and revoke erin's session.
    let response = a
        .update_user(&admin, &id, serde_json::json!({"disabled": true}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = a
        .revoke(
            erin.refresh_token.as_deref().unwrap(),
            ClientAuth::FirstParty,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Assert: A at once, B within the reload interval.
    assert_eq!(a.me(&dave).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.me(&erin.access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let disabled = refused_within_reload(&b, &dave, "disabled user").await;
    let revoked = refused_within_reload(&b, &erin.access_token, "revoked session").await;
    eprintln!("B refused: disabled user after {disabled:?}, revoked session after {revoked:?}");
}
