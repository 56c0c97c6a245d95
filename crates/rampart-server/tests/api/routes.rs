//! Routing odds and ends: unknown routes, methods, health checks.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn an_unknown_route_is_404() {
    let app = TestApp::spawn().await;

    let response = app.get("/no/such/route").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn get_on_the_token_endpoint_is_405() {
    let app = TestApp::spawn().await;

    let response = app.get("/oauth/token").await;

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let app = TestApp::spawn().await;

    let health = app.get("/healthz").await;
    let ready = app.get("/readyz").await;

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["store"], true);
    assert_eq!(ready["keys"], true);
}

#[tokio::test]
async fn an_oversized_token_request_is_refused() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(64 * 1024);

    let response = app
        .token(
            &[("grant_type", "password"), ("username", &huge)],
            crate::helpers::ClientAuth::FirstParty,
        )
        .await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
