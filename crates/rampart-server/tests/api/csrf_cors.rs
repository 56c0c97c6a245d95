//! CSRF defence (Fetch Metadata and Origin checks) and CORS: which cross-site writes are
//! refused, which preflights are answered, and a CORS misconfiguration found at start.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, throttle_defaults};

/// A named case: the browser headers sent, and whether the write is allowed.
type CsrfCase<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);

#[tokio::test]
async fn the_csrf_table() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.cors_origins = vec!["https://app.example".into()];
    })
    .await;
    let cases: &[CsrfCase<'_>] = &[
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
            .client()
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
        .client()
        .get(app.url("/healthz"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
}

#[tokio::test]
async fn cors_preflight_allows_only_listed_origins() {
    let app = TestApp::spawn_with(|c| {
        throttle_defaults(c);
        c.cors_origins = vec!["https://app.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client()
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
        let err = TestApp::start_error(|c| c.cors_origins = vec![bad.into()]).await;
        assert!(err.contains("cors_origins"), "{bad}: {err}");
    }
}
