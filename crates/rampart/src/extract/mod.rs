//! Axum extractors and layers: [`Bearer`], [`Auth`], [`Scoped`], [`HasRole`] and
//! [`RequireLayer`].

mod auth;
pub(crate) mod bearer;
mod layer;
mod require;

pub use auth::{Auth, authorize};
pub use bearer::{Bearer, BearerError, find_bearer, is_b64token};
pub use layer::{RequireLayer, RequireService};
pub use require::{HasRole, RoleSet, ScopeSet, Scoped};
