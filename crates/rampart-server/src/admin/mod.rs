//! The admin API (ARCHITECTURE.md), every route behind scope `admin`.

mod actor;
mod audit;
mod clients;
mod consents;
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
        .merge(consents::router())
        .merge(audit::router())
        // Defence in depth: every handler also takes `Scoped<AdminScope>`.
        .route_layer(validator.require_scopes(["admin"]))
}

/// For PATCH bodies: a member that is present (`Some`), even as `null` (`Some(None)`,
/// e.g. "remove the name"); absent is `None` through `#[serde(default)]`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}
