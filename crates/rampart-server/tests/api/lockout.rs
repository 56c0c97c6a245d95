//! Brute-force backoff: per IP, per account and per client, behind a proxy too, on an
//! injected clock; unknown accounts throttled like real ones; success forgetting failures.

use rampart_server::config::TlsMode;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, TestApp, USER_PW, throttle_defaults};

#[tokio::test]
async fn the_lockout_timeline_with_an_injected_clock() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    app.given_user("alice", &["user"]).await;
    // Five free failures per IP …
    for n in 1..=5 {
        assert_eq!(
            app.login_attempt("alice", "wrong password!", None)
                .await
                .status(),
            400,
            "failure {n}"
        );
    }
    // … the sixth locks the IP for 1 s, the seventh for 2 s.
    assert_eq!(
        app.login_attempt("alice", "wrong password!", None)
            .await
            .status(),
        400
    );
    let locked = app.login_attempt("alice", USER_PW, None).await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(locked.headers()["retry-after"], "1");
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    app.clock().advance(1);
    assert_eq!(
        app.login_attempt("alice", "wrong password!", None)
            .await
            .status(),
        400
    );
    let locked = app.login_attempt("alice", USER_PW, None).await;
    assert_eq!(locked.headers()["retry-after"], "2");
    app.clock().advance(2);
    assert_eq!(
        app.login_attempt("alice", USER_PW, None).await.status(),
        200,
        "the lock ends on time"
    );
    // The IP's counter persists (success only resets the account), so the next failure
    // from it locks again at once.
    assert_eq!(
        app.login_attempt("alice", "wrong password!", None)
            .await
            .status(),
        400
    );
    assert_eq!(
        app.login_attempt("alice", USER_PW, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // After an hour without failures the counters start over.
    app.clock().advance(3600 + 60);
    assert_eq!(
        app.login_attempt("alice", USER_PW, None).await.status(),
        200
    );
}

#[tokio::test]
async fn behind_a_proxy_the_ip_limit_bites_first_and_the_real_user_gets_in() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.given_user("alice", &["user"]).await;
    // An attacker at 203.0.113.7 (spoofing a left-hand entry, which is ignored).
    for _ in 0..6 {
        let res = app
            .login_attempt("alice", "wrong password!", Some("6.6.6.6, 203.0.113.7"))
            .await;
        assert_eq!(res.status(), 400);
    }
    let res = app
        .login_attempt("alice", "wrong password!", Some("9.9.9.9, 203.0.113.7"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's IP is locked whatever it prepends"
    );
    // The real user, elsewhere, is not locked out: the account allows 10 failures.
    assert_eq!(
        app.login_attempt("alice", USER_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_distributed_guessing_attack_locks_the_account_for_a_bounded_time() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.given_user("alice", &["user"]).await;
    for i in 0..11 {
        let res = app
            .login_attempt("alice", "wrong password!", Some(&format!("203.0.113.{i}")))
            .await;
        assert_eq!(res.status(), 400);
    }
    let locked = app
        .login_attempt("alice", USER_PW, Some("198.51.100.20"))
        .await;
    assert_eq!(
        locked.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked after 10 failures"
    );
    // Another account is unaffected.
    assert_eq!(
        app.login_attempt("admin", ADMIN_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
    app.clock().advance(1);
    assert_eq!(
        app.login_attempt("alice", USER_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_users_are_throttled_like_real_ones() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    for _ in 0..6 {
        assert_eq!(
            app.login_attempt("nobody", "wrong password!", None)
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        app.login_attempt("nobody", "wrong password!", None)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_successful_login_forgets_the_accounts_failures() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    app.given_user("alice", &["user"]).await;
    // Ten failures, each from an IP of its own: the account's free allowance, spent.
    for i in 0..10 {
        let ip = format!("203.0.113.{i}");
        let res = app
            .login_attempt("alice", "wrong password!", Some(&ip))
            .await;
        assert_eq!(res.status(), 400, "failure {i}");
    }
    assert_eq!(
        app.login_attempt("alice", USER_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
    // The success reset the account's count: ten more failures lock nothing.
    for i in 10..20 {
        let ip = format!("203.0.113.{i}");
        let res = app
            .login_attempt("alice", "wrong password!", Some(&ip))
            .await;
        assert_eq!(res.status(), 400, "failure {i} after the success");
    }
    assert_eq!(
        app.login_attempt("alice", USER_PW, Some("198.51.100.20"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_successful_client_authentication_forgets_the_clients_failures() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.tls_mode = TlsMode::Proxy;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let svc = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let (id, secret) = (svc.id, svc.secret.unwrap());
    let attempt = |secret: String, i: usize| {
        app.client()
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
    let app = TestApp::spawn_with(throttle_defaults).await;
    let svc = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let (id, secret) = (svc.id, svc.secret.unwrap());
    let attempt = |secret: String| {
        app.client()
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
    app.clock().advance(2);
    assert_eq!(attempt(secret).await.unwrap().status(), 200);
}

#[tokio::test]
async fn guessing_the_current_password_on_the_change_endpoint_is_throttled() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    app.given_user("alice", &["user"]).await;
    let token: Value = app
        .login_attempt("alice", USER_PW, None)
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let change = |current: &'static str| {
        app.client()
            .put(app.url("/users/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": "a brand new passphrase"}))
            .send()
    };
    for _ in 0..6 {
        assert_eq!(change("wrong password!").await.unwrap().status(), 400);
    }
    let locked = change(USER_PW).await.unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
}
