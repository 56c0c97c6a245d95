//! The main listener's router: every feature's routes, then the layers every request
//! passes, innermost first.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::{HeaderValue, StatusCode, header};
use rampart::Validator;
use rampart::https::{ClientIpLayer, RequireHttpsLayer, SecurityHeadersLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::checks::Checked;
use crate::config::TlsMode;
use crate::state::AppState;
use crate::{admin, health, oauth, profile};

/// Largest JSON body accepted by the API.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Longest a request may take (slowloris on bodies, stuck handlers).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API: routes, state and layers. `validator` guards the admin routes.
pub(super) fn build(
    tls_mode: TlsMode,
    checked: Checked,
    state: AppState,
    validator: &Validator,
) -> Router {
    let Checked {
        origin,
        trusted,
        hsts,
        cors,
        csrf,
    } = checked;
    let metrics = Arc::clone(&state.metrics);
    let mut router = Router::new()
        .merge(oauth::router())
        .merge(crate::signin::router())
        .merge(profile::router())
        .merge(admin::router(validator))
        .merge(crate::openapi::router())
        .merge(health::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(csrf)
        // Inside the HTTPS check: plain-HTTP redirects must not carry HSTS (RFC 6797 §7.2).
        .layer(SecurityHeadersLayer::new(Some(hsts)));
    if tls_mode == TlsMode::Proxy {
        // A request that reached the proxy over plain HTTP is treated like one on our
        // own plain listener: redirect GET/HEAD, refuse the rest.
        router = router.layer(RequireHttpsLayer::new(origin));
    }
    router
        .layer(ClientIpLayer::new(trusted))
        // Token and personal-data responses are never cached; the JWKS and the
        // metadata set their own public caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
}

/// Unknown routes: 404 in the API's JSON shape.
async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::NotFound("route")
}
