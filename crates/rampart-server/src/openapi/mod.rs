//! API documentation generated from the handlers and types: OpenAPI 3.1 at
//! `GET /openapi.json`, Swagger UI at `GET /docs` (no authentication; nothing secret is in
//! either).
//!
//! Each handler carries its own `#[utoipa::path]` (route, parameters, bodies, every
//! status it can answer) and each wire type derives `ToSchema`, so the document changes
//! with the code. [`document`] assembles them; `rampart::openapi::SecurityAddon` adds the
//! `oauth2` (password flow against `/oauth/token`) and `bearer` schemes and the RFC 6750
//! rejections of every protected operation.

pub mod document;
pub mod fields;
pub mod schemas;
pub mod swagger;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub use document::document;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// `/openapi.json`, `/docs`, `/docs/`, `/docs/{file}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(OPENAPI_PATH, get(document::openapi_json))
        .route("/docs", get(swagger::redirect))
        .route("/docs/", get(swagger::page))
        .route("/docs/{*file}", get(swagger::asset))
}
