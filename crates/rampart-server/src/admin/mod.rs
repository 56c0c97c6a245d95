//! The admin API (ARCHITECTURE.md), every route behind scope `admin`.

mod actor;
mod audit;
mod clients;
pub(crate) mod openapi;
mod roles;
mod sessions;
mod users;

use axum::Router;

pub use actor::AdminActor;

use crate::state::AppState;

rampart::scopes!(pub AdminScope = "admin");

/// The `/admin/*` routes.
pub fn router(validator: &rampart::Validator) -> Router<AppState> {
    Router::new()
        .merge(users::router())
        .merge(roles::router())
        .merge(clients::router())
        .merge(sessions::router())
        .merge(audit::router())
        // Defence in depth: every handler also takes `Scoped<AdminScope>`.
        .route_layer(validator.require_scopes(["admin"]))
}
