//! The black-box API suite of `tests/api/` again, every `TestApp` on a Postgres database
//! of its own (created through `RAMPART_TEST_POSTGRES_URL`, dropped after the test).
//!
//! Without `RAMPART_TEST_POSTGRES_URL` the first test prints a notice and ends this target
//! successfully: nothing runs. CI sets it (`.ci/run`), so there the whole suite runs.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

/// The database every `TestApp` of this target runs on.
const BACKEND: database::Backend = database::Backend::Postgres;

// Keep in step with tests/api/main.rs (checked below).
#[path = "api/abuse_cases.rs"]
mod abuse_cases;
#[path = "api/access_revocation.rs"]
mod access_revocation;
#[path = "api/access_token.rs"]
mod access_token;
#[path = "api/admin_authorization.rs"]
mod admin_authorization;
#[path = "api/admin_clients.rs"]
mod admin_clients;
#[path = "api/admin_roles_scopes.rs"]
mod admin_roles_scopes;
#[path = "api/admin_sessions.rs"]
mod admin_sessions;
#[path = "api/admin_users.rs"]
mod admin_users;
#[path = "api/browser_signin.rs"]
mod browser_signin;
#[path = "api/cancellation.rs"]
mod cancellation;
#[path = "api/client_authentication.rs"]
mod client_authentication;
#[path = "api/client_settings.rs"]
mod client_settings;
#[path = "api/crash.rs"]
mod crash;
#[path = "api/csrf_cors.rs"]
mod csrf_cors;
#[path = "api/database.rs"]
mod database;
#[path = "api/docs.rs"]
mod docs;
#[path = "api/hashing_pool.rs"]
mod hashing_pool;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/introspection.rs"]
mod introspection;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/lockout.rs"]
mod lockout;
#[path = "api/operations.rs"]
mod operations;
#[path = "api/passwords.rs"]
mod passwords;
#[path = "api/refresh_grace.rs"]
mod refresh_grace;
#[path = "api/resource_server.rs"]
mod resource_server;
#[path = "api/restart.rs"]
mod restart;
#[path = "api/revocation.rs"]
mod revocation;
#[path = "api/routes.rs"]
mod routes;
#[path = "api/scopes.rs"]
mod scopes;
#[path = "api/sql_injection.rs"]
mod sql_injection;
#[path = "api/token_authorization_code.rs"]
mod token_authorization_code;
#[path = "api/token_client_credentials.rs"]
mod token_client_credentials;
#[path = "api/token_errors.rs"]
mod token_errors;
#[path = "api/token_password.rs"]
mod token_password;
#[path = "api/token_refresh.rs"]
mod token_refresh;
#[path = "api/user_profiles.rs"]
mod user_profiles;
#[path = "api/userinfo.rs"]
mod userinfo;

#[test]
fn every_module_of_the_api_suite_also_runs_on_postgres() {
    let this = include_str!("api_postgres.rs");
    let missing: Vec<&str> = include_str!("api/main.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|name| !this.contains(&format!("#[path = \"api/{name}.rs\"]\nmod {name};")))
        .collect();
    assert!(
        missing.is_empty(),
        "add to tests/api_postgres.rs: {missing:?}"
    );
}
