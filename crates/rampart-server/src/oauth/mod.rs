//! The OAuth 2.0 endpoints.

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod form;
pub mod introspect;
pub mod issue;
pub mod metadata;
pub mod pkce;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::AppState;

/// Largest accepted body on the token, revocation and introspection endpoints.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

async fn oauth_413(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if response.status() != http::StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let mut error = error::OAuthError::invalid_request(format!(
        "the request body exceeds {MAX_FORM_BYTES} bytes"
    ))
    .into_response();
    *error.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    error
}

/// The OAuth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .layer(RequestBodyLimitLayer::new(MAX_FORM_BYTES))
        // The limit layer answers in plain text; OAuth clients expect RFC 6749 §5.2 JSON.
        .layer(axum::middleware::map_response(oauth_413))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/jwks.json", get(metadata::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(metadata::openid_configuration),
        )
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo_post),
        )
}
