//! Black-box tests of the token server: one `TestApp` (own data directory, own SQLite
//! database, own signing keys) per test, real HTTP through reqwest. The same modules run
//! on Postgres as the target `api_postgres` (`tests/api_postgres.rs`).
//!
//! Arrange / Act / Assert; test names are sentences. Where a fact cannot be observed over
//! HTTP (a stored hash, a key rotation started by the CLI) the test reaches into
//! `TestApp::state` and says so.

// clippy's `allow-unwrap-in-tests` covers `#[test]` functions only, not the helpers here.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

/// The database every `TestApp` of this target runs on.
const BACKEND: database::Backend = database::Backend::Sqlite;

mod abuse_cases;
mod access_revocation;
mod access_token;
mod admin_authorization;
mod admin_clients;
mod admin_roles_scopes;
mod admin_sessions;
mod admin_users;
mod browser_signin;
mod cancellation;
mod client_authentication;
mod client_settings;
mod crash;
mod csrf_cors;
mod database;
mod docs;
mod hashing_pool;
mod helpers;
mod introspection;
mod keys;
mod lockout;
mod operations;
mod passwords;
mod refresh_grace;
mod resource_server;
mod restart;
mod revocation;
mod routes;
mod scopes;
mod sql_injection;
mod token_authorization_code;
mod token_client_credentials;
mod token_errors;
mod token_password;
mod token_refresh;
mod user_profiles;
mod userinfo;
