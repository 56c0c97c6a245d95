//! The Rampart token server as a library; `main.rs` is a thin CLI over it, and the
//! black-box tests build [`startup::Application`] directly.
//!
//! # Code map
//!
//! Calls go down this list, never up or sideways (`.ci/import_cycles.py` checks it; the
//! one cycle allowed is the OpenAPI document listing the handlers that name its types).
//!
//! - [`cli`] and [`startup`]: the verbs, and `serve`: configuration checks
//!   ([`startup::checks`], shared with `config check`), the store, the state, the router
//!   and its layers, the listeners, the background maintenance.
//! - HTTP, one folder or file per feature, each with its own `router()`; handlers parse
//!   the request, call one rule below and shape the answer, and take only the state they
//!   use (`State<Accounts>`, … narrowed from [`state::AppState`] with `FromRef`):
//!   [`oauth`] (token endpoint per grant, revocation, introspection, metadata),
//!   [`signin`] (the authorization endpoint, the login, consent and logout pages),
//!   [`profile`] (`/users/me`), [`admin`] (the admin API, the audit trail's routes
//!   included), [`health`], [`openapi`] (the document and Swagger UI); [`error`] is the
//!   one error type of the non-OAuth endpoints.
//! - Rules, no HTTP: [`accounts`] (users, roles, scopes, clients, sessions, password
//!   logins and their lockout), [`keys`], [`audit`], [`metrics`].
//! - [`store`]: the two backends; no rules about content.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod private_file;
pub mod profile;
pub mod secret;
pub mod serve;
pub mod signin;
pub mod startup;
pub mod state;
pub mod store;
pub mod tls;

pub use config::Config;
pub use startup::Application;
