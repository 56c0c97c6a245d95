//! The OAuth 2.0 endpoints.

pub mod client_auth;
pub mod error;
pub mod form;
pub mod introspect;
pub mod issue;
pub mod metadata;
pub mod revoke;
pub mod token;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::AppState;

/// Largest accepted body on the token, revocation and introspection endpoints.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The OAuth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .layer(RequestBodyLimitLayer::new(MAX_FORM_BYTES))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/jwks.json", get(metadata::jwks))
}
