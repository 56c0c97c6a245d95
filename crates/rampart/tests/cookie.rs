//! Cookie-carried tokens: accepted only behind the `CookieTokensLayer`, whose CSRF check
//! runs before the cookie is read.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Method, Request, StatusCode, header};
use rampart::cookie::CookieTokensLayer;
use rampart::testing::TestIssuer;
use rampart::{Algorithm, Auth, Scoped, Validator};
use serde_json::Value;
use tower::ServiceExt as _;

rampart::scopes!(NotesWrite = "notes:write");

const SITE: &str = "https://app.example.com";

fn routes(validator: Validator) -> Router {
    Router::new()
        .route(
            "/me",
            get(|a: Auth| async move { a.subject().unwrap_or_default().to_owned() }),
        )
        .route(
            "/notes",
            post(|a: Scoped<NotesWrite>| async move { a.subject().unwrap_or_default().to_owned() }),
        )
        .with_state(validator)
}

async fn send(
    app: &Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "app.example.com");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

#[tokio::test]
async fn without_the_layer_a_cookie_is_not_a_credential() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token().sub("alice").scope("notes:write").sign();
    let app = routes(issuer.validator());
    let cookie = format!("__Host-access={token}");
    let (status, body) = send(&app, Method::GET, "/me", &[("cookie", &cookie)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn cookie_tokens_work_only_from_this_site_or_a_trusted_origin() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token().sub("alice").scope("notes:write").sign();
    let cookies = CookieTokensLayer::new("__Host-access", ["https://trusted.example.net"]).unwrap();
    let set = cookies
        .set_cookie(&token, Duration::from_secs(600))
        .unwrap();
    let set = set.to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"));
    let app = routes(issuer.validator()).layer(cookies);
    let cookie = format!("__Host-access={token}; theme=dark");

    // (name, method, path, extra headers, expected status, expected body)
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        Vec<(&'a str, &'a str)>,
        StatusCode,
        &'a str,
    );
    let cases: [Case<'_>; 10] = [
        (
            "GET, no browser headers",
            Method::GET,
            "/me",
            vec![],
            StatusCode::OK,
            "alice",
        ),
        (
            "GET, cross-site (safe method)",
            Method::GET,
            "/me",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            StatusCode::OK,
            "alice",
        ),
        (
            "POST, same-origin",
            Method::POST,
            "/notes",
            vec![("sec-fetch-site", "same-origin"), ("origin", SITE)],
            StatusCode::OK,
            "alice",
        ),
        (
            "POST, no Sec-Fetch-Site or Origin (not a browser)",
            Method::POST,
            "/notes",
            vec![],
            StatusCode::OK,
            "alice",
        ),
        (
            "POST, cross-site",
            Method::POST,
            "/notes",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            StatusCode::FORBIDDEN,
            "cross_site_request",
        ),
        (
            "POST, same-site (another subdomain)",
            Method::POST,
            "/notes",
            vec![
                ("sec-fetch-site", "same-site"),
                ("origin", "https://other.example.com"),
            ],
            StatusCode::FORBIDDEN,
            "cross_site_request",
        ),
        (
            "POST, Origin: null",
            Method::POST,
            "/notes",
            vec![("sec-fetch-site", "cross-site"), ("origin", "null")],
            StatusCode::FORBIDDEN,
            "cross_site_request",
        ),
        (
            "POST, old browser, foreign Origin",
            Method::POST,
            "/notes",
            vec![("origin", "https://evil.example")],
            StatusCode::FORBIDDEN,
            "cross_site_request",
        ),
        (
            "POST, trusted origin",
            Method::POST,
            "/notes",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://trusted.example.net"),
            ],
            StatusCode::OK,
            "alice",
        ),
        (
            "DELETE-like POST to an unknown route, cross-site",
            Method::POST,
            "/me",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            StatusCode::FORBIDDEN,
            "cross_site_request",
        ),
    ];
    for (name, method, path, extra, status, want) in cases {
        let mut headers = vec![("cookie", cookie.as_str())];
        headers.extend(extra);
        let (got, body) = send(&app, method, path, &headers).await;
        assert_eq!(got, status, "{name}: {body}");
        match &body {
            Value::String(s) => assert_eq!(s, want, "{name}"),
            other => assert_eq!(other["error"], want, "{name}"),
        }
    }
}

#[tokio::test]
async fn the_authorization_header_wins_and_bad_cookies_are_refused() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let alice = issuer.token().sub("alice").scope("notes:write").sign();
    let bob = issuer.token().sub("bob").scope("notes:write").sign();
    let app = routes(issuer.validator())
        .layer(CookieTokensLayer::new("t", Vec::<String>::new()).unwrap());

    let cookie = format!("t={alice}");
    let bearer = format!("Bearer {bob}");
    let (status, body) = send(
        &app,
        Method::GET,
        "/me",
        &[("cookie", &cookie), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Value::String("bob".into()))
    );

    // A bad token in the cookie is a bad credential (401), never anonymous.
    let (status, body) = send(&app, Method::GET, "/me", &[("cookie", "t=not.a.jwt")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    let (status, body) = send(&app, Method::GET, "/me", &[("cookie", "t=a,b")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    // Another cookie of a similar name is not the token.
    let (status, _) = send(
        &app,
        Method::GET,
        "/me",
        &[("cookie", &format!("tt={alice}"))],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
