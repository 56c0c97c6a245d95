//! Abuse cases an outside review found (issue 14 §5): a client locked out for everyone by
//! one guessing IP, two admins demoting each other at once, duplicate JSON members,
//! percent-encoded invalid UTF-8, attacker-chosen strings stored by unauthenticated
//! requests. Each runs on SQLite and on Postgres.

use rampart_server::clock::Clock;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW, throttle_defaults};

/// A manual clock (a lock lasts until the test moves time, however slow the machine),
/// behind a trusted proxy on loopback (`X-Forwarded-For` names the client IP).
async fn app_with_manual_clock() -> TestApp {
    TestApp::spawn_with(|c| {
        c.clock = Clock::manual(1_800_000_000);
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await
}

/// `client_credentials` with Basic `id:secret`, as if from `ip` (through the trusted proxy).
async fn client_token_from(app: &TestApp, id: &str, secret: &str, ip: &str) -> StatusCode {
    app.client()
        .post(app.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .header("X-Forwarded-For", ip)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn one_ip_guessing_a_client_secret_locks_only_itself_and_the_right_secret_from_another_ip_works()
 {
    // Arrange
    let app = app_with_manual_clock().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let secret = client.secret.clone().unwrap();
    // Act: the attacker's IP spends its allowance and more.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(client_token_from(&app, &client.id, "guess", "203.0.113.7").await);
    }
    // Assert
    assert_eq!(
        &statuses[..6],
        &[StatusCode::UNAUTHORIZED; 6],
        "{statuses:?}"
    );
    assert_eq!(&statuses[6..], &[StatusCode::TOO_MANY_REQUESTS; 2]);
    assert_eq!(
        client_token_from(&app, &client.id, &secret, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing IP stays locked, even with the right secret"
    );
    assert_eq!(
        client_token_from(&app, &client.id, &secret, "198.51.100.9").await,
        StatusCode::OK,
        "the client itself is not locked: its real deployment keeps working"
    );
}

#[tokio::test]
async fn guesses_spread_over_many_ips_lock_the_client_only_after_its_own_larger_allowance() {
    // Arrange
    let app = app_with_manual_clock().await;
    let client = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let secret = client.secret.clone().unwrap();
    // Act: 4 guesses from each of 5 IPs: no IP reaches its limit; the client reaches 20.
    for host in 1..=5 {
        for _ in 0..4 {
            let status =
                client_token_from(&app, &client.id, "guess", &format!("192.0.2.{host}")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    // Assert: 20 failures are still within the client's allowance.
    assert_eq!(
        client_token_from(&app, &client.id, &secret, "198.51.100.9").await,
        StatusCode::OK,
        "a success also clears the client's count"
    );
    for host in 1..=5 {
        for _ in 0..4 {
            client_token_from(&app, &client.id, "guess", &format!("192.0.2.{}", host + 10)).await;
        }
    }
    assert_eq!(
        client_token_from(&app, &client.id, "guess", "192.0.2.99").await,
        StatusCode::UNAUTHORIZED,
        "the 21st failure locks the client"
    );
    assert_eq!(
        client_token_from(&app, &client.id, &secret, "198.51.100.9").await,
        StatusCode::TOO_MANY_REQUESTS,
        "then for everyone, for a bounded time"
    );
    app.state.accounts.clock.advance(2);
    assert_eq!(
        client_token_from(&app, &client.id, &secret, "198.51.100.9").await,
        StatusCode::OK
    );
}

/// An access token with `admin` for `username` (password [`USER_PW`]).
async fn admin_login(app: &TestApp, username: &str, password: &str) -> String {
    app.login(username, password, Some("admin profile"))
        .await
        .access_token
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_always_leave_an_enabled_admin() {
    // Arrange: the bootstrap admin and one more; each trial the survivor meets a new one.
    let app = TestApp::spawn().await;
    let bootstrap = app.admin_token().await;
    let users: Value = app
        .list_users(&bootstrap, "q=admin")
        .await
        .json()
        .await
        .unwrap();
    let mut survivor = (
        users["items"][0]["id"].as_str().unwrap().to_owned(),
        admin_login(&app, "admin", ADMIN_PW).await,
    );
    let mut refused = 0;
    for trial in 0..9 {
        let name = format!("second{trial}");
        let created = app
            .create_user(&survivor.1, &name, USER_PW, &["admin", "user"])
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "trial {trial}");
        let created: Value = created.json().await.unwrap();
        let other_id = created["id"].as_str().unwrap().to_owned();
        let other = (other_id, admin_login(&app, &name, USER_PW).await);
        // Act: each removes the other, by demotion, disabling or deletion.
        let remove = |(target, token): (&str, &str)| {
            let (method, body) = match trial % 3 {
                0 => (Method::PATCH, Some(json!({"roles": ["user"]}))),
                1 => (Method::PATCH, Some(json!({"disabled": true}))),
                _ => (Method::DELETE, None),
            };
            let path = format!("/admin/users/{target}");
            let token = token.to_owned();
            let app = &app;
            async move { app.admin(method, &path, &token, body).await.status() }
        };
        let (a, b) = tokio::join!(
            remove((&other.0, &survivor.1)),
            remove((&survivor.0, &other.1))
        );
        // Assert
        let admins = app
            .state
            .store
            .count_users_with_role("admin")
            .await
            .unwrap();
        assert!(
            admins >= 1,
            "trial {trial}: {a} and {b} left {admins} enabled admins"
        );
        assert!(
            a.is_success() != b.is_success(),
            "trial {trial}: exactly one removal succeeds ({a}, {b})"
        );
        for status in [a, b] {
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::NO_CONTENT,
                    StatusCode::CONFLICT,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN
                ]
                .contains(&status),
                "trial {trial}: {status}"
            );
        }
        refused += usize::from(a == StatusCode::CONFLICT) + usize::from(b == StatusCode::CONFLICT);
        // The one still an enabled admin survives into the next trial.
        survivor = if a.is_success() { survivor } else { other };
        let me = app.me(&survivor.1).await;
        assert_eq!(
            me.status(),
            StatusCode::OK,
            "trial {trial}: the survivor is still in"
        );
    }
    // Most trials race; whichever way, the guard answered at least once.
    assert!(refused >= 1, "the last-admin guard never answered 409");
}

#[tokio::test]
async fn a_json_body_with_a_repeated_member_is_refused_on_every_json_endpoint() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let alice = app.given_user("alice", &["user"]).await;
    let client = app
        .given_client(false, &["password"], &["profile"], None)
        .await;
    app.given_role("reader", &["profile"]).await;
    let alice_token = app
        .login("alice", USER_PW, Some("profile"))
        .await
        .access_token;
    let cases: Vec<(&str, Method, String, &str, &str)> = vec![
        (
            "create a user",
            Method::POST,
            "/admin/users".into(),
            &admin,
            r#"{"username":"dup","username":"evil","password":"correct horse battery","roles":["user"]}"#,
        ),
        (
            "update a user",
            Method::PATCH,
            format!("/admin/users/{alice}"),
            &admin,
            r#"{"roles":["user"],"roles":["admin","user"]}"#,
        ),
        (
            "create a role",
            Method::POST,
            "/admin/roles".into(),
            &admin,
            r#"{"name":"r1","scopes":["profile"],"scopes":["admin"]}"#,
        ),
        (
            "set a role's scopes",
            Method::PUT,
            "/admin/roles/reader".into(),
            &admin,
            r#"{"scopes":["profile"],"scopes":["admin"]}"#,
        ),
        (
            "put a scope",
            Method::PUT,
            "/admin/scopes/notes".into(),
            &admin,
            r#"{"description":"a","default":false,"default":true}"#,
        ),
        (
            "create a client",
            Method::POST,
            "/admin/clients".into(),
            &admin,
            r#"{"name":"c","name":"d","confidential":false,"grants":["password"],"scopes":["profile"]}"#,
        ),
        (
            "update a client",
            Method::PATCH,
            format!("/admin/clients/{}", client.id),
            &admin,
            r#"{"disabled":false,"disabled":true}"#,
        ),
        (
            "change my password",
            Method::PUT,
            "/users/me/password".into(),
            &alice_token,
            r#"{"current_password":"correct horse battery","new_password":"another long password","new_password":"x"}"#,
        ),
        (
            "a duplicate nested in an array",
            Method::POST,
            "/admin/users".into(),
            &admin,
            r#"{"username":"nested","password":"correct horse battery","roles":["user"],"x":[{"a":1,"a":2}]}"#,
        ),
    ];
    for (name, method, path, token, body) in cases {
        // Act
        let response = app
            .client()
            .request(method, app.url(&path))
            .bearer_auth(token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        // Assert
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{name}");
        assert!(
            error["error_description"]
                .as_str()
                .unwrap()
                .contains("more than once"),
            "{name}: {error}"
        );
    }
    // Nothing was written.
    let users: Value = app
        .list_users(&admin, "limit=200")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| ["dup", "evil", "nested"].contains(n)),
        "{names:?}"
    );
    let alice_now: Value = app.get_user(&admin, &alice).await.json().await.unwrap();
    assert_eq!(alice_now["roles"], json!(["user"]));
    assert_eq!(
        app.me(&alice_token).await.status(),
        StatusCode::OK,
        "password unchanged"
    );
}

#[tokio::test]
async fn percent_encoded_invalid_utf8_in_a_form_value_is_invalid_request_not_a_replacement_character()
 {
    // Arrange: a password that is a literal U+FFFD, which lossy decoding of %FF%C0 hits.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let password = "\u{FFFD}\u{FFFD} kettle marching on";
    let created = app.create_user(&admin, "bob", password, &["user"]).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let replacement = "%EF%BF%BD%EF%BF%BD+kettle+marching+on";
    let invalid = "%FF%C0+kettle+marching+on";
    let login = |encoded_password: &'static str| {
        let app = &app;
        async move {
            app.client()
                .post(app.url("/oauth/token"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=password&username=bob&password={encoded_password}"
                ))
                .send()
                .await
                .unwrap()
        }
    };
    // Act
    let right = login(replacement).await;
    let wrong = login(invalid).await;
    // Assert
    assert_eq!(right.status(), StatusCode::OK, "the real password works");
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let error: Value = wrong.json().await.unwrap();
    assert_eq!(error["error"], "invalid_request");
    // The same rule in HTTP Basic client credentials (RFC 6749 §2.3.1 form-encodes them).
    let basic = app
        .client()
        .post(app.url("/oauth/token"))
        .basic_auth("first-party", Some("%FF"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

/// The store's throttle rows for `keys` (white-box: nothing over HTTP lists them).
async fn throttle_rows(app: &TestApp, keys: &[&str]) -> Vec<(String, i64)> {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    app.state.store.throttle_locks(&keys).await.unwrap()
}

#[tokio::test]
async fn an_invalid_or_overlong_username_is_refused_before_anything_is_stored() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let huge = "x".repeat(4 * 1024);
    let cases = [
        ("4 KB", huge.as_str()),
        ("65 characters", &"a".repeat(65)),
        ("a space inside", "bad name"),
        ("a quote", "o'brien--"),
    ];
    for (name, username) in cases {
        // Act
        let response = app
            .password_grant(username, "whatever password", None, ClientAuth::FirstParty)
            .await;
        // Assert
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{name}");
        let description = error["error_description"].as_str().unwrap();
        assert!(description.len() < 200, "{name}: the input is not echoed");
        let key = format!("user:{username}");
        assert!(
            throttle_rows(&app, &[&key, "ip:127.0.0.1"])
                .await
                .is_empty(),
            "{name}: no throttle row"
        );
    }
    // 16 KB does not even get parsed (the body limit): refused, nothing stored either.
    let sixteen = "x".repeat(16 * 1024);
    let response = app
        .password_grant(&sixteen, "whatever password", None, ClientAuth::FirstParty)
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    // An over-long client id is refused the same way, before any lookup or write.
    let long_id = "c".repeat(10_000);
    let response = app
        .token(
            &[("grant_type", "client_credentials")],
            ClientAuth::Basic(&long_id, "s"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        throttle_rows(&app, &[&format!("client:{long_id}"), "ip:127.0.0.1"])
            .await
            .is_empty()
    );
    // No audit event holds any of these strings.
    app.state.audit.flush().await;
    let audit: Value = app
        .admin(Method::GET, "/admin/audit?limit=200", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let text = audit.to_string();
    assert!(
        !text.contains(&"x".repeat(100)),
        "the long name reached the audit trail"
    );
    assert!(
        !text.contains(&"c".repeat(100)),
        "the long client id reached the audit trail"
    );
}

#[tokio::test]
async fn expired_throttle_rows_are_purged_and_live_ones_kept() {
    // Arrange: one failure each for an unknown account and a real one.
    let app = TestApp::spawn().await;
    app.given_user("carol", &["user"]).await;
    for name in ["ghost", "carol"] {
        let response = app
            .password_grant(name, "wrong password here", None, ClientAuth::FirstParty)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let keys = ["user:ghost", "user:carol", "ip:127.0.0.1"];
    assert_eq!(throttle_rows(&app, &keys).await.len(), 3);
    let now = app.state.accounts.clock.now();
    // Act / Assert: within the reset window nothing goes.
    let store = &app.state.store;
    assert_eq!(store.purge_throttle(now, now - 3600).await.unwrap(), 0);
    assert_eq!(throttle_rows(&app, &keys).await.len(), 3);
    // An hour and more later, every row whose count would restart goes.
    let later = now + 3601;
    assert_eq!(store.purge_throttle(later, later - 3600).await.unwrap(), 3);
    assert!(throttle_rows(&app, &keys).await.is_empty());
}

#[tokio::test]
async fn a_locked_throttle_row_outlives_the_purge_until_its_lock_ends() {
    // Arrange: lock the loopback IP (6 failures: 5 free).
    let app = app_with_manual_clock().await;
    for _ in 0..6 {
        app.password_grant("ghost", "wrong password here", None, ClientAuth::FirstParty)
            .await;
    }
    let rows = throttle_rows(&app, &["ip:127.0.0.1"]).await;
    let until = rows[0].1;
    let now = app.state.accounts.clock.now();
    assert!(until > now, "locked");
    // Act: purge as if the last failure were old but the lock not over.
    let store = &app.state.store;
    let purged = store.purge_throttle(until - 1, now + 1).await.unwrap();
    // Assert
    assert_eq!(purged, 1, "the account's row (never locked) goes");
    assert_eq!(
        throttle_rows(&app, &["ip:127.0.0.1"]).await.len(),
        1,
        "the IP's stays"
    );
    store.purge_throttle(until, now + 1).await.unwrap();
    assert!(throttle_rows(&app, &["ip:127.0.0.1"]).await.is_empty());
}

#[tokio::test]
async fn an_oversized_token_request_gets_413_in_the_oauth_shape() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    let res = app
        .client()
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
async fn json_bodies_must_be_objects() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    let token = app.admin_token().await;
    for body in ["[\"rr\"]", "\"rr\"", "null", "1"] {
        let res = app
            .client()
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
