//! A client's sign-in settings (redirect URIs, consent, authentication method, lifetimes)
//! through the admin API and the CLI, and what the token endpoint makes of them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ClientAuth, TestApp, assert_oauth_error, jwt_parts, tokens};

async fn create(app: &TestApp, body: Value) -> Value {
    let admin = app.admin_token().await;
    let response = app.create_client(&admin, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn patch(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    let admin = app.admin_token().await;
    app.admin(
        Method::PATCH,
        &format!("/admin/clients/{id}"),
        &admin,
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    app.admin(Method::GET, &format!("/admin/clients/{id}"), &admin, None)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_settings_are_stored_shown_and_defaulted() {
    let app = TestApp::spawn().await;

    let web = create(
        &app,
        json!({
            "name": "web app",
            "confidential": true,
            "grants": ["refresh_token", "password"],
            "redirect_uris": ["https://app.example/callback", "http://127.0.0.1/cb", "https://app.example/callback"],
            "post_logout_redirect_uris": ["https://app.example/"],
            "first_party": true,
            "token_endpoint_auth_method": "client_secret_post",
            "access_token_ttl": 300,
            "refresh_token_ttl": 3600,
        }),
    )
    .await;
    let native = create(
        &app,
        json!({"name": "native app", "confidential": false, "grants": ["password"]}),
    )
    .await;
    let worker = create(
        &app,
        json!({"name": "worker", "confidential": true, "grants": ["client_credentials"]}),
    )
    .await;

    let web = get(&app, web["client_id"].as_str().unwrap()).await;
    assert_eq!(
        web["redirect_uris"],
        json!(["https://app.example/callback", "http://127.0.0.1/cb"]),
        "registration order, without the repeat"
    );
    assert_eq!(
        web["post_logout_redirect_uris"],
        json!(["https://app.example/"])
    );
    assert_eq!(web["first_party"], true);
    assert_eq!(web["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(web["access_token_ttl"], 300);
    assert_eq!(web["refresh_token_ttl"], 3600);
    for (name, client, method) in [
        ("public", &native, "none"),
        ("confidential", &worker, "client_secret_basic"),
    ] {
        assert_eq!(client["token_endpoint_auth_method"], method, "{name}");
        assert_eq!(client["redirect_uris"], json!([]), "{name}");
        assert_eq!(client["first_party"], false, "{name}");
        assert_eq!(client["access_token_ttl"], Value::Null, "{name}");
        assert_eq!(client["refresh_token_ttl"], Value::Null, "{name}");
    }
}

#[tokio::test]
async fn invalid_sign_in_settings_are_400_with_the_rule_that_failed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let base = || json!({"name": "x", "confidential": true, "grants": ["password"]});
    let with = |key: &str, value: Value| {
        let mut body = base();
        body[key] = value;
        body
    };
    let cases = [
        (
            "an http redirect to a public host",
            with("redirect_uris", json!(["http://app.example/cb"])),
            "redirect_uris",
        ),
        (
            "a redirect with a fragment",
            with("redirect_uris", json!(["https://app.example/cb#x"])),
            "fragment",
        ),
        (
            "a relative redirect",
            with("redirect_uris", json!(["/callback"])),
            "absolute",
        ),
        (
            "a javascript: redirect",
            with("redirect_uris", json!(["javascript:alert(1)"])),
            "scheme",
        ),
        (
            "a post-logout URI with userinfo",
            with(
                "post_logout_redirect_uris",
                json!(["https://u:p@app.example/"]),
            ),
            "post_logout_redirect_uris",
        ),
        (
            "21 redirect URIs",
            with(
                "redirect_uris",
                json!(
                    (0..21)
                        .map(|n| format!("https://app.example/{n}"))
                        .collect::<Vec<_>>()
                ),
            ),
            "at most 20",
        ),
        (
            "none for a confidential client",
            with("token_endpoint_auth_method", json!("none")),
            "token_endpoint_auth_method",
        ),
        (
            "an unknown method",
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            "client_secret_basic",
        ),
        (
            "a 10-second access token",
            with("access_token_ttl", json!(10)),
            "access_token_ttl",
        ),
        (
            "a negative refresh lifetime",
            with("refresh_token_ttl", json!(-1)),
            "-1",
        ),
        (
            "an unknown member",
            with("redirect_uri", json!("https://app.example/cb")),
            "redirect_uri",
        ),
        (
            "a secret method for a public client",
            json!({"name": "x", "confidential": false, "grants": ["password"], "token_endpoint_auth_method": "client_secret_basic"}),
            "is for confidential clients",
        ),
    ];

    for (name, body, mentions) in cases {
        let response = app.create_client(&admin, body).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{name}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(mentions), "{name}: {body}");
    }
    let list: Value = app
        .admin(Method::GET, "/admin/clients", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only first-party: {list}"
    );
}

#[tokio::test]
async fn a_patch_changes_what_it_names_and_a_refused_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    let client = create(
        &app,
        json!({
            "name": "web app", "confidential": true, "grants": ["password"],
            "redirect_uris": ["https://app.example/a"], "access_token_ttl": 300,
        }),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();

    let response = patch(
        &app,
        id,
        json!({
            "redirect_uris": ["https://app.example/b"],
            "first_party": true,
            "access_token_ttl": null,
            "refresh_token_ttl": 600,
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["redirect_uris"], json!(["https://app.example/b"]));
    assert_eq!(after["first_party"], true);
    assert_eq!(after["access_token_ttl"], Value::Null, "null: the server's");
    assert_eq!(after["refresh_token_ttl"], 600);
    assert_eq!(
        after["token_endpoint_auth_method"], "client_secret_basic",
        "untouched"
    );
    assert_eq!(get(&app, id).await, after, "GET shows what PATCH answered");

    // Valid scopes beside an invalid redirect URI: nothing of it is written.
    let refused = patch(
        &app,
        id,
        json!({"scopes": ["admin"], "redirect_uris": ["http://evil.example/"]}),
    )
    .await;
    assert_oauth_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    let refused = patch(&app, id, json!({"token_endpoint_auth_method": "none"})).await;
    assert_oauth_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(get(&app, id).await, after, "no partial write");
}

#[tokio::test]
async fn a_client_authenticates_only_by_its_registered_method() {
    let app = TestApp::spawn().await;
    let basic = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    let post = app
        .given_client(true, &["client_credentials"], &["profile"], None)
        .await;
    app.given_secret_post(&post.id).await;
    let public = app
        .given_client(false, &["password"], &["profile"], None)
        .await;
    let (basic_secret, post_secret) = (basic.secret.clone().unwrap(), post.secret.clone().unwrap());

    let cases = [
        (
            "basic client, Basic",
            ClientAuth::Basic(&basic.id, &basic_secret),
            StatusCode::OK,
        ),
        (
            "basic client, post",
            ClientAuth::Post(&basic.id, &basic_secret),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "post client, post",
            ClientAuth::Post(&post.id, &post_secret),
            StatusCode::OK,
        ),
        (
            "post client, Basic",
            ClientAuth::Basic(&post.id, &post_secret),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "post client, no secret",
            ClientAuth::Public(&post.id),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (name, auth, expected) in cases {
        let response = app.client_credentials(None, auth).await;
        assert_eq!(response.status(), expected, "{name}");
    }
    // A public client presenting a secret it cannot have.
    let response = app
        .password_grant(
            "admin",
            crate::helpers::ADMIN_PW,
            None,
            ClientAuth::Post(&public.id, "x"),
        )
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // The wrong method is not a guess at the secret: more of them than the per-IP
    // allowance (5) lock nothing.
    for _ in 0..6 {
        let response = app
            .client_credentials(None, ClientAuth::Post(&basic.id, &basic_secret))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client_credentials(None, ClientAuth::Basic(&basic.id, &basic_secret))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_clients_own_lifetimes_bound_its_tokens_and_sessions() {
    let app = TestApp::spawn_with(|config| {
        config.clock = rampart_server::clock::Clock::manual(1_700_000_000);
    })
    .await;
    let client = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    let response = patch(
        &app,
        &client.id,
        json!({"access_token_ttl": 120, "refresh_token_ttl": 600}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    let issued = tokens(
        app.password_grant("admin", crate::helpers::ADMIN_PW, None, client.auth())
            .await,
    )
    .await;
    let (_, claims) = jwt_parts(&issued.access_token);
    assert_eq!(issued.expires_in, 120);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    let refresh = issued.refresh_token.unwrap();

    // Within the client's refresh lifetime the session rotates; after it, it is over,
    // though the server's own lifetime (30 days) is far off.
    app.clock().advance(300);
    let rotated = tokens(app.refresh(&refresh, None, client.auth()).await).await;
    app.clock().advance(301);
    let late = app
        .refresh(
            rotated.refresh_token.as_deref().unwrap(),
            None,
            client.auth(),
        )
        .await;
    assert_oauth_error(late, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The first-party client keeps the server's lifetime.
    let default = app.login("admin", crate::helpers::ADMIN_PW, None).await;
    assert_eq!(default.expires_in, 900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_a_client_with_sign_in_settings() {
    let app = TestApp::spawn().await;
    let args: Vec<std::ffi::OsString> = [
        "client",
        "create",
        "cli app",
        "--grant",
        "password",
        "--grant",
        "refresh_token",
        "--redirect-uri",
        "https://app.example/cb",
        "--redirect-uri",
        "http://[::1]/cb",
        "--post-logout-redirect-uri",
        "https://app.example/",
        "--first-party",
        "--auth-method",
        "client_secret_post",
        "--access-lifetime",
        "600",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(AsRef::as_ref).collect();

    let out = app.cli(&refs);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .unwrap()
        .to_owned();
    let client = get(&app, &id).await;
    assert_eq!(
        client["redirect_uris"],
        json!(["https://app.example/cb", "http://[::1]/cb"])
    );
    assert_eq!(
        client["post_logout_redirect_uris"],
        json!(["https://app.example/"])
    );
    assert_eq!(client["first_party"], true);
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(client["access_token_ttl"], 600);

    let bad: Vec<std::ffi::OsString> = [
        "client",
        "create",
        "bad app",
        "--grant",
        "password",
        "--redirect-uri",
        "http://app.example/cb",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let refs: Vec<&std::ffi::OsStr> = bad.iter().map(AsRef::as_ref).collect();
    let out = app.cli(&refs);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("127.0.0.1"),
        "says what is allowed: {stderr}"
    );
}
