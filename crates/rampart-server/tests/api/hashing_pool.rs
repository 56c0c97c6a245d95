//! The bounded hashing pool: a full queue answers 503 at once, a saturated pool refuses
//! before reading the store, and the hashing CPU budget sheds a login flood.

use std::time::Duration;

use rampart_server::accounts::HashParams;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{ClientAuth, TestApp, USER_PW, throttle_defaults};

#[tokio::test]
async fn a_full_hashing_queue_answers_503_at_once_and_the_api_keeps_serving() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.hash_pool_size = 1;
        c.hash_queue_size = 1;
        c.password_hash = HashParams {
            memory_kib: 32 * 1024,
            iterations: 3,
            parallelism: 1,
        };
    })
    .await;
    let attempts = (0..16).map(|i| {
        let client = app.client().clone();
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
        app.client()
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
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.hash_pool_size = 1;
        c.hash_queue_size = 0;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.password_hash = HashParams {
            memory_kib: 64 * 1024,
            iterations: 4,
            parallelism: 1,
        };
    })
    .await;
    app.given_user("alice", &["user"]).await;
    let in_flight = app.login_attempt("alice", USER_PW, Some("198.51.100.40"));
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
        let unknown_client = app
            .post_form_from(
                "/oauth/token",
                &unknown_client_login,
                ClientAuth::FirstParty,
                probe_ip,
            )
            .await;
        // Grants that do not hash are not held back by the hashing pool.
        let no_hashing = app
            .post_form_from(
                "/oauth/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "no-such-client"),
                    ("client_secret", "whatever"),
                ],
                ClientAuth::FirstParty,
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
    let res = app
        .post_form_from(
            "/oauth/token",
            &unknown_client_login,
            ClientAuth::FirstParty,
            probe_ip,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_login_flood_over_the_hashing_cpu_budget_gets_503_and_logins_resume_once_it_drains() {
    // One hashing thread, costly hashes, a fifth of a core, and a queue longer than the
    // flood: every 503 below is the budget's, not the queue's.
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.hash_pool_size = 1;
        c.hash_queue_size = 256;
        c.hash_cpu_budget = 0.2;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.password_hash = HashParams {
            memory_kib: 32 * 1024,
            iterations: 3,
            parallelism: 1,
        };
    })
    .await;
    app.given_user("alice", &["user"]).await;
    // The setup's own hashes (the admin's login, alice's password) are charged to the
    // budget in wall time, which a loaded machine stretches: start the flood once the
    // budget admits jobs again, so the burst allowance below is the flood's.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !app.state.accounts.passwords.budget_wait().is_zero() {
        assert!(
            std::time::Instant::now() < deadline,
            "the setup's debt drains"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Credential stuffing: every attempt from a new address, for a new account.
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move {
            app.login_attempt(
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
            .login_attempt("alice", USER_PW, Some("198.51.100.20"))
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
