//! Browser and app sign-in: the authorization endpoint (RFC 6749 §4.1 with PKCE, OIDC
//! Core §3.1), the login and consent pages behind it, and RP-initiated logout (OpenID
//! RP-Initiated Logout 1.0).
//!
//! The request's rules are `oauth::authorize::request`; the decision of what a checked
//! request needs next (login, consent, a code, an error) is [`flow::next_step`]; the
//! session and consent records are `accounts::browser`. These handlers parse, call those
//! and render.
//!
//! CSRF: every form carries the double-submit secret of the `__Host-` CSRF cookie (see
//! [`cookies`]), on top of the Origin check every state-changing route passes.

pub mod cookies;
pub mod flow;
pub mod logout;
pub mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::{HeaderValue, header};

use crate::accounts::Accounts;
use crate::accounts::browser::SessionLifetimes;
use crate::accounts::login::Login;
use crate::audit::Audit;
use crate::state::{AppState, IdHints, TokenSettings};

/// What the sign-in handlers use.
#[derive(Clone)]
pub struct Signin {
    pub accounts: Accounts,
    pub login: Login,
    pub audit: Audit,
    pub settings: Arc<TokenSettings>,
    pub hints: IdHints,
}

impl FromRef<AppState> for Signin {
    fn from_ref(state: &AppState) -> Self {
        Self {
            accounts: state.accounts.clone(),
            login: state.login.clone(),
            audit: state.audit.clone(),
            settings: Arc::clone(&state.settings),
            hints: state.id_hints.clone(),
        }
    }
}

impl Signin {
    fn lifetimes(&self) -> SessionLifetimes {
        SessionLifetimes {
            idle: self.settings.session_idle_ttl,
            absolute: self.settings.session_ttl,
        }
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        pages::STYLESHEET,
    )
}

/// The sign-in routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(flow::authorize_get).post(flow::authorize_post),
        )
        .route("/login", post(flow::login))
        .route("/consent", post(flow::consent))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/assets/signin.css", get(stylesheet))
}
