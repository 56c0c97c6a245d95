//! Abuse resistance: CSRF, CORS, brute-force backoff (per IP and per account, behind a
//! proxy too), the bounded hashing queue, the hashing CPU budget, and SQL-injection
//! payloads in every input.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use std::net::SocketAddr;
use std::time::Duration;

use rampart_server::clock::Clock;
use rampart_server::config::TlsMode;
use rampart_server::{Application, Config};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

const ADMIN_PW: &str = "bootstrap-admin-password";
const ALICE_PW: &str = "violet kettle marching";

struct App {
    addr: SocketAddr,
    metrics: SocketAddr,
    client: reqwest::Client,
    clock: Clock,
    _dir: tempfile::TempDir,
}

async fn spawn(tweak: impl FnOnce(&mut Config)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.bootstrap_admin_password = Some(SecretString::from(ADMIN_PW));
    config.clock = Clock::manual(1_800_000_000);
    config.login_rate_per_ip = 0;
    tweak(&mut config);
    let clock = config.clock.clone();
    let app = Application::build(config).await.unwrap();
    let addr = app.address();
    let metrics = app.metrics_address().unwrap();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    App {
        addr,
        metrics,
        client,
        clock,
        _dir: dir,
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /oauth/token` with `form`, optionally through the trusted proxy.
    async fn token_from(
        &self,
        form: &[(&str, &str)],
        forwarded_for: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url("/oauth/token")).form(form);
        if let Some(xff) = forwarded_for {
            req = req.header("X-Forwarded-For", xff);
        }
        req.send().await.unwrap()
    }

    async fn login_from(
        &self,
        user: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> reqwest::Response {
        let form = [
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", "profile admin"),
        ];
        self.token_from(&form, forwarded_for).await
    }

    /// The Prometheus exposition from the metrics listener.
    async fn metrics_text(&self) -> String {
        self.client
            .get(format!("http://{}/metrics", self.metrics))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.login_from(user, password, None).await
    }

    async fn admin_token(&self) -> String {
        let res = self.login("admin", ADMIN_PW).await;
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn create_alice(&self) {
        let token = self.admin_token().await;
        let res = self
            .client
            .post(self.url("/admin/users"))
            .bearer_auth(token)
            .json(&json!({"username": "alice", "password": ALICE_PW, "roles": ["user"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
}

#[tokio::test]
async fn the_csrf_table() {
    let app = spawn(|c| c.cors_origins = vec!["https://app.example".into()]).await;
    let cases: &[(&str, &[(&str, &str)], bool)] = &[
        ("no browser headers (curl, SDKs)", &[], true),
        (
            "same-origin fetch",
            &[("Sec-Fetch-Site", "same-origin")],
            true,
        ),
        ("typed URL / bookmark", &[("Sec-Fetch-Site", "none")], true),
        (
            "cross-site form post",
            &[
                ("Sec-Fetch-Site", "cross-site"),
                ("Origin", "https://evil.example"),
            ],
            false,
        ),
        (
            "same-site but other origin",
            &[
                ("Sec-Fetch-Site", "same-site"),
                ("Origin", "https://x.localhost:8443"),
            ],
            false,
        ),
        ("old browser, Origin null", &[("Origin", "null")], false),
        (
            "old browser, foreign Origin",
            &[("Origin", "https://evil.example")],
            false,
        ),
        (
            "trusted origin, cross-site",
            &[
                ("Sec-Fetch-Site", "cross-site"),
                ("Origin", "https://app.example"),
            ],
            true,
        ),
    ];
    for (name, headers, allowed) in cases {
        let mut req = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[("grant_type", "client_credentials")]);
        for (k, v) in *headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        let refused = status == StatusCode::FORBIDDEN && body["error"] == "cross_site_request";
        assert_eq!(!refused, *allowed, "{name}: {status} {body}");
    }
    // Safe methods are never refused.
    let get = app
        .client
        .get(app.url("/healthz"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
}

#[tokio::test]
async fn cors_preflight_allows_only_listed_origins() {
    let app = spawn(|c| c.cors_origins = vec!["https://app.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_misconfiguration_is_reported_at_start_not_as_a_panic() {
    for bad in ["*", "https://app.example/path", "not a url"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(dir.path());
        config.cors_origins = vec![bad.into()];
        let err = Application::build(config).await.err().unwrap();
        assert!(
            format!("{err:#}").contains("cors_origins"),
            "{bad}: {err:#}"
        );
    }
}

#[tokio::test]
async fn the_lockout_timeline_with_an_injected_clock() {
    let app = spawn(|_| {}).await;
    app.create_alice().await;
    // Five free failures per IP …
    for n in 1..=5 {
        assert_eq!(
            app.login("alice", "wrong password!").await.status(),
            400,
            "failure {n}"
        );
    }
    // … the sixth locks the IP for 1 s, the seventh for 2 s.
    assert_eq!(app.login("alice", "wrong password!").await.status(), 400);
    let locked = app.login("alice", ALICE_PW).await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(locked.headers()["retry-after"], "1");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    app.clock.advance(1);
    assert_eq!(app.login("alice", "wrong password!").await.status(), 400);
    let locked = app.login("alice", ALICE_PW).await;
    assert_eq!(locked.headers()["retry-after"], "2");
    app.clock.advance(2);
    assert_eq!(
        app.login("alice", ALICE_PW).await.status(),
        200,
        "the lock ends on time"
    );
    // The IP's counter persists (success only resets the account), so the next failure
    // from it locks again at once.
    assert_eq!(app.login("alice", "wrong password!").await.status(), 400);
    assert_eq!(
        app.login("alice", ALICE_PW).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // After an hour without failures the counters start over.
    app.clock.advance(3600 + 60);
    assert_eq!(app.login("alice", ALICE_PW).await.status(), 200);
}

#[tokio::test]
async fn behind_a_proxy_the_ip_limit_bites_first_and_the_real_user_gets_in() {
    let app = spawn(|c| {
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.create_alice().await;
    // An attacker at 203.0.113.7 (spoofing a left-hand entry, which is ignored).
    for _ in 0..6 {
        let res = app
            .login_from("alice", "wrong password!", Some("6.6.6.6, 203.0.113.7"))
            .await;
        assert_eq!(res.status(), 400);
    }
    let res = app
        .login_from("alice", "wrong password!", Some("9.9.9.9, 203.0.113.7"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's IP is locked whatever it prepends"
    );
    // The real user, elsewhere, is not locked out: the account allows 10 failures.
    assert_eq!(
        app.login_from("alice", ALICE_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_distributed_guessing_attack_locks_the_account_for_a_bounded_time() {
    let app = spawn(|c| {
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.create_alice().await;
    for i in 0..11 {
        let res = app
            .login_from("alice", "wrong password!", Some(&format!("203.0.113.{i}")))
            .await;
        assert_eq!(res.status(), 400);
    }
    let locked = app
        .login_from("alice", ALICE_PW, Some("198.51.100.20"))
        .await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked after 10 failures"
    );
    // Another account is unaffected.
    assert_eq!(
        app.login_from("admin", ADMIN_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
    app.clock.advance(1);
    assert_eq!(
        app.login_from("alice", ALICE_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_users_are_throttled_like_real_ones() {
    let app = spawn(|_| {}).await;
    for _ in 0..6 {
        assert_eq!(app.login("nobody", "wrong password!").await.status(), 400);
    }
    assert_eq!(
        app.login("nobody", "wrong password!").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_successful_login_forgets_the_accounts_failures() {
    let app = spawn(|c| {
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.create_alice().await;
    // Ten failures, each from an IP of its own: the account's free allowance, spent.
    for i in 0..10 {
        let ip = format!("203.0.113.{i}");
        let res = app.login_from("alice", "wrong password!", Some(&ip)).await;
        assert_eq!(res.status(), 400, "failure {i}");
    }
    assert_eq!(
        app.login_from("alice", ALICE_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
    // The success reset the account's count: ten more failures lock nothing.
    for i in 10..20 {
        let ip = format!("203.0.113.{i}");
        let res = app.login_from("alice", "wrong password!", Some(&ip)).await;
        assert_eq!(res.status(), 400, "failure {i} after the success");
    }
    assert_eq!(
        app.login_from("alice", ALICE_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_successful_client_authentication_forgets_the_clients_failures() {
    let app = spawn(|c| {
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let token = app.admin_token().await;
    let created: Value = app
        .client
        .post(app.url("/admin/clients"))
        .bearer_auth(&token)
        .json(&json!({"name": "svc", "confidential": true, "grants": ["client_credentials"], "scopes": ["profile"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let attempt = |secret: String, i: usize| {
        app.client
            .post(app.url("/oauth/token"))
            .basic_auth(&id, Some(secret))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    // Five failures (the client's free allowance), each from an IP of its own.
    for i in 0..5 {
        assert_eq!(attempt("guess".into(), i).await.unwrap().status(), 401);
    }
    assert_eq!(attempt(secret.clone(), 5).await.unwrap().status(), 200);
    // The success reset the client's count: five more failures lock nothing.
    for i in 6..11 {
        assert_eq!(attempt("guess".into(), i).await.unwrap().status(), 401);
    }
    assert_eq!(attempt(secret, 11).await.unwrap().status(), 200);
}

#[tokio::test]
async fn client_secret_guessing_is_throttled() {
    let app = spawn(|_| {}).await;
    let token = app.admin_token().await;
    let created: Value = app
        .client
        .post(app.url("/admin/clients"))
        .bearer_auth(&token)
        .json(&json!({"name": "svc", "confidential": true, "grants": ["client_credentials"], "scopes": ["profile"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let attempt = |secret: String| {
        app.client
            .post(app.url("/oauth/token"))
            .basic_auth(&id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    for _ in 0..6 {
        assert_eq!(attempt("guess".into()).await.unwrap().status(), 401);
    }
    assert_eq!(
        attempt(secret.clone()).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(2);
    assert_eq!(attempt(secret).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_full_hashing_queue_answers_503_at_once_and_the_api_keeps_serving() {
    let app = spawn(|c| {
        c.hash_pool_size = 1;
        c.hash_queue_size = 1;
        c.password_hash = rampart_server::accounts::HashParams {
            memory_kib: 32 * 1024,
            iterations: 3,
            parallelism: 1,
        };
    })
    .await;
    let attempts = (0..16).map(|i| {
        let client = app.client.clone();
        let url = app.url("/oauth/token");
        async move {
            client
                .post(url)
                .form(&[
                    ("grant_type", "password"),
                    ("username", &format!("user{i}")),
                    ("password", "wrong password!"),
                ])
                .send()
                .await
                .unwrap()
        }
    });
    let (responses, health) = tokio::join!(futures_util::future::join_all(attempts), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(health, 200);
    let busy: Vec<_> = responses
        .iter()
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!busy.is_empty(), "some attempts found the queue full");
    assert!(busy.iter().all(|r| r.headers().contains_key("retry-after")));
    assert!(
        responses
            .iter()
            .all(|r| r.status() == 400 || r.status() == 503)
    );
}

#[tokio::test]
async fn a_saturated_hashing_pool_refuses_password_attempts_before_reading_the_store() {
    // One hashing thread, no waiting room, slow hashes: one login in flight fills the pool.
    let app = spawn(|c| {
        c.hash_pool_size = 1;
        c.hash_queue_size = 0;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.password_hash = rampart_server::accounts::HashParams {
            memory_kib: 64 * 1024,
            iterations: 4,
            parallelism: 1,
        };
    })
    .await;
    app.create_alice().await;
    let in_flight = app.login_from("alice", ALICE_PW, Some("198.51.100.40"));
    let unknown_client_login = [
        ("grant_type", "password"),
        ("client_id", "no-such-client"),
        ("username", "alice"),
        ("password", "wrong password!"),
    ];
    let probe_ip = Some("198.51.100.41");
    let probes = async {
        // Until the first login holds the pool's one place (the gauge counts reservations).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let metrics = app.metrics_text().await;
            if metrics.contains("\nrampart_password_hash_queue_depth 1\n") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{metrics}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Every later step reads the store (client, failure backoff, user), so the answer
        // shows where the refusal happens: a client lookup would have answered 401.
        let unknown_client = app.token_from(&unknown_client_login, probe_ip).await;
        // Grants that do not hash are not held back by the hashing pool.
        let no_hashing = app
            .token_from(
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "no-such-client"),
                    ("client_secret", "whatever"),
                ],
                probe_ip,
            )
            .await;
        (unknown_client, no_hashing)
    };
    let (first, (unknown_client, no_hashing)) = tokio::join!(in_flight, probes);
    assert_eq!(first.status(), 200, "the login holding the pool succeeds");
    assert_eq!(unknown_client.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(unknown_client.headers().contains_key("retry-after"));
    let body: Value = unknown_client.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(no_hashing.status(), StatusCode::UNAUTHORIZED);
    // Once the pool is free, the same attempt reaches client authentication.
    let res = app.token_from(&unknown_client_login, probe_ip).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_login_flood_over_the_hashing_cpu_budget_gets_503_and_logins_resume_once_it_drains() {
    // One hashing thread, costly hashes, a fifth of a core, and a queue longer than the
    // flood: every 503 below is the budget's, not the queue's.
    let app = spawn(|c| {
        c.hash_pool_size = 1;
        c.hash_queue_size = 256;
        c.hash_cpu_budget = 0.2;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.password_hash = rampart_server::accounts::HashParams {
            memory_kib: 32 * 1024,
            iterations: 3,
            parallelism: 1,
        };
    })
    .await;
    app.create_alice().await;
    // Credential stuffing: every attempt from a new address, for a new account.
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move {
            app.login_from(
                &format!("user{i}"),
                "wrong password!",
                Some(&format!("203.0.113.{i}")),
            )
            .await
        }
    });
    let responses = futures_util::future::join_all(attempts).await;
    let mut refused = 0;
    for res in responses {
        match res.status() {
            StatusCode::BAD_REQUEST => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                let retry_after: u64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry_after >= 1);
                assert_eq!(res.headers()["cache-control"], "no-store");
                // RFC 6749 §5.2 shape.
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"], "temporarily_unavailable");
                assert!(body["error_description"].is_string());
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "the budget refused part of the flood");
    assert!(
        refused < 40,
        "the burst allowance admitted the first attempts"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(&format!(
            "rampart_password_hash_refusals_total{{reason=\"cpu_budget\"}} {refused}\n"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("rampart_password_hash_refusals_total{reason=\"queue_full\"} 0\n"));
    // A normal login once the debt has drained (the budget's wait, not a lockout).
    // Retry-After is computed from the debt, so waiting it out once is enough (one spare
    // round for rounding).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut refusals = 0;
    loop {
        let res = app
            .login_from("alice", ALICE_PW, Some("198.51.100.20"))
            .await;
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        refusals += 1;
        assert!(
            refusals <= 2 && std::time::Instant::now() < deadline,
            "still refused after waiting out Retry-After ({refusals} refusals)"
        );
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

#[tokio::test]
async fn sql_injection_payloads_change_nothing_and_leak_nothing() {
    let app = spawn(|_| {}).await;
    let token = app.admin_token().await;
    let before = snapshot(&app, &token).await;
    let payloads = [
        "' OR '1'='1",
        "admin'--",
        "'; DROP TABLE users; --",
        "\" OR \"\"=\"",
        "1; DELETE FROM clients",
        "%' OR 1=1 --",
        "_%",
        "\\'; SELECT sqlite_version(); --",
        "admin\u{0}",
    ];
    let mut bodies = Vec::new();
    for p in payloads {
        let token = app.admin_token().await;
        let enc = urlencode(p);
        let requests = vec![
            app.client.post(app.url("/oauth/token")).form(&[("grant_type", "password"), ("username", p), ("password", p)]),
            app.client.post(app.url("/oauth/token")).form(&[("grant_type", "refresh_token"), ("refresh_token", p)]),
            app.client.post(app.url("/oauth/token")).basic_auth(p, Some(p)).form(&[("grant_type", "client_credentials"), ("scope", p)]),
            app.client.post(app.url("/oauth/revoke")).form(&[("token", p)]),
            app.client.get(app.url(&format!("/admin/users?q={enc}"))).bearer_auth(&token),
            app.client.get(app.url(&format!("/admin/users?cursor={enc}"))).bearer_auth(&token),
            app.client.get(app.url(&format!("/admin/users/{enc}"))).bearer_auth(&token),
            app.client.delete(app.url(&format!("/admin/users/{enc}"))).bearer_auth(&token),
            app.client.delete(app.url(&format!("/admin/roles/{enc}"))).bearer_auth(&token),
            app.client.delete(app.url(&format!("/admin/clients/{enc}"))).bearer_auth(&token),
            app.client.delete(app.url(&format!("/admin/sessions/{enc}"))).bearer_auth(&token),
            app.client.get(app.url(&format!("/admin/sessions?user_id={enc}"))).bearer_auth(&token),
            app.client.post(app.url("/admin/users")).bearer_auth(&token).json(&json!({"username": p, "password": "violet kettle marching", "roles": [p]})),
            app.client.post(app.url("/admin/roles")).bearer_auth(&token).json(&json!({"name": p, "scopes": [p]})),
            app.client.put(app.url(&format!("/admin/roles/{enc}"))).bearer_auth(&token).json(&json!({"scopes": [p]})),
            app.client.post(app.url("/admin/clients")).bearer_auth(&token).json(&json!({"name": "x", "confidential": true, "grants": [p], "scopes": [p], "audience": p})),
        ];
        for req in requests {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            assert!(status.as_u16() < 500, "{p:?}: {status} {body}");
            bodies.push(body);
        }
        // Not locked out by our own probing: move past any backoff (the admin token,
        // valid 15 min, is re-issued below).
        app.clock.advance(3600 * 2);
    }
    for body in &bodies {
        let lower = body.to_lowercase();
        for leak in ["sqlite", "syntax", "sqlx", "near \"", "constraint"] {
            assert!(!lower.contains(leak), "error text leaked: {body}");
        }
    }
    // The probing moved the clock by hours: log in again for the final look.
    let fresh = app.admin_token().await;
    assert_eq!(
        snapshot(&app, &fresh).await,
        before,
        "the database is unchanged"
    );

    // Where a payload is a legal name, it is stored literally: proof that it travelled
    // as a bound parameter, not as SQL.
    let name = "x';DROP--";
    let res = app
        .client
        .put(app.url(&format!("/admin/scopes/{}", urlencode(name))))
        .bearer_auth(&fresh)
        .json(&json!({"description": "'); DELETE FROM scopes; --"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let scopes: Value = app
        .client
        .get(app.url("/admin/scopes"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    assert_eq!(stored["description"], "'); DELETE FROM scopes; --");
    assert_eq!(scopes.as_array().unwrap().len(), 3);
}

async fn snapshot(app: &App, token: &str) -> Vec<Value> {
    let mut state = Vec::new();
    for path in [
        "/admin/users?limit=200",
        "/admin/roles",
        "/admin/clients",
        "/admin/scopes",
    ] {
        let res = app
            .client
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        state.push(res.json::<Value>().await.unwrap());
    }
    state
}

/// Percent-encodes for a path segment or a query value (space as %20, not '+').
fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn an_oversized_token_request_gets_413_in_the_oauth_shape() {
    let app = spawn(|_| {}).await;
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&username=a&password={}",
            "x".repeat(64 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn guessing_the_current_password_on_the_change_endpoint_is_throttled() {
    let app = spawn(|_| {}).await;
    app.create_alice().await;
    let token: Value = app.login("alice", ALICE_PW).await.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let change = |current: &'static str| {
        app.client
            .put(app.url("/users/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": "a brand new passphrase"}))
            .send()
    };
    for _ in 0..6 {
        assert_eq!(change("wrong password!").await.unwrap().status(), 400);
    }
    let locked = change(ALICE_PW).await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn json_bodies_must_be_objects() {
    let app = spawn(|_| {}).await;
    let token = app.admin_token().await;
    for body in ["[\"rr\"]", "\"rr\"", "null", "1"] {
        let res = app
            .client
            .post(app.url("/admin/roles"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"], "invalid_request");
    }
}
