//! `GET /healthz` and `GET /readyz`, for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use serde_json::json;

use crate::accounts::Accounts;
use crate::keys::Keys;
use crate::state::AppState;

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz",
    summary = "Liveness", tag = "health",
    responses((status = 200, description = "The process is up", body = crate::openapi::schemas::Health)))]
pub(crate) async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and a signing key is active.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz",
    summary = "Readiness (store and signing key)", tag = "health",
    responses(
        (status = 200, description = "Ready", body = crate::openapi::schemas::Readiness),
        (status = 503, description = "The store does not answer or no signing key is active", body = crate::openapi::schemas::Readiness),
    ))]
pub(crate) async fn readyz(
    State(accounts): State<Accounts>,
    State(keys): State<Keys>,
) -> impl IntoResponse {
    let store = accounts.ping().await.is_ok();
    let keys = keys.active().is_ok();
    let status = if store && keys {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(
            json!({"status": if status == StatusCode::OK { "ready" } else { "unavailable" }, "store": store, "keys": keys}),
        ),
    )
}
