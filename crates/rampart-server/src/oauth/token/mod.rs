//! `POST /oauth/token` (RFC 6749 §3.2): parses the request, authenticates the client and
//! hands over to one file per grant: [`password`] (§4.3), [`refresh`] (§6),
//! [`client_credentials`] (§4.4).

pub mod authorization_code;
mod client_credentials;
mod password;
mod refresh;

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use super::client_auth::{ClientAuth, authenticate};
use super::error::OAuthError;
use super::form::Params;
use super::issue::Issuer;
use crate::accounts::Accounts;
use crate::accounts::login::Login;
use crate::accounts::scopes::{self, ScopeRefusal};
use crate::audit::Audit;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::User;
use rampart::https::ClientIp;

/// RFC 6749 §5.1 success body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6IuKApiIsInR5cCI6ImF0K2p3dCJ9.…", "token_type": "Bearer", "expires_in": 900, "refresh_token": "k3Jx…", "scope": "profile"}))]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// OIDC Core §3.1.3.3: with scope `openid` in the authorization-code flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
            .headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// What the token endpoint needs.
#[derive(Clone)]
pub struct TokenState {
    clients: ClientAuth,
    login: Login,
    accounts: Accounts,
    issuer: Issuer,
    audit: Audit,
    metrics: std::sync::Arc<Metrics>,
}

impl FromRef<AppState> for TokenState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            clients: ClientAuth::from_ref(state),
            login: state.login.clone(),
            accounts: state.accounts.clone(),
            issuer: Issuer::from_ref(state),
            audit: state.audit.clone(),
            metrics: std::sync::Arc::clone(&state.metrics),
        }
    }
}

/// The token endpoint.
///
/// `password` (RFC 6749 §4.3): `username`, `password`, optional `scope`; no client
/// identification = the public client `first-party`. `refresh_token` (§6): rotated on every
/// use, reuse revokes the family. `client_credentials` (§4.4): confidential clients only.
/// `authorization_code` (§4.1.3, RFC 7636): `code`, `redirect_uri`, `code_verifier`; a code
/// works once, for its client; a second use revokes what the first issued.
/// Granted scopes = requested ∩ the user's roles' scopes ∩ the client's scopes.
#[utoipa::path(post, path = "/oauth/token", operation_id = "token",
    summary = "Get tokens (authorization_code, refresh_token, client_credentials, password grants)", tag = "oauth",
    request_body(content = crate::openapi::schemas::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "The tokens (RFC 6749 §5.1)", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"), ("Pragma" = String, description = "`no-cache`"))),
        (status = 400, response = crate::openapi::schemas::OAuthBadRequest),
        (status = 401, response = crate::openapi::schemas::InvalidClient),
        (status = 413, response = crate::openapi::schemas::FormTooLarge),
        (status = 429, response = crate::openapi::schemas::TooManyAttempts),
        (status = 503, response = crate::openapi::schemas::OAuthUnavailable),
    ))]
pub async fn token(
    State(state): State<TokenState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TokenResponse, OAuthError> {
    let params = Params::parse(&headers, &body)?;
    let grant_type = params.require("grant_type")?;
    if !matches!(
        grant_type,
        "password" | "refresh_token" | "client_credentials" | "authorization_code"
    ) {
        return Err(OAuthError::unsupported_grant_type());
    }
    // A password attempt is admitted before anything reads the store: the per-IP rate
    // limit (in memory), then a place on the hashing pool; see `password::admit`.
    let slot = match grant_type {
        "password" => Some(password::admit(&state, ip)?),
        _ => None,
    };
    let client = authenticate(&state.clients, ip, &headers, &params).await?;
    let basic = client.used_basic();
    if !client.client.grants.iter().any(|g| g == grant_type) {
        let mut e = OAuthError::unauthorized_client("this client may not use this grant type");
        if grant_type == "client_credentials" && !client.client.confidential {
            e = OAuthError::unauthorized_client(
                "client_credentials is only for confidential clients",
            );
        }
        return Err(e);
    }
    let requested = match params.get("scope") {
        Some(s) => Some(
            scopes::parse_scope(s)
                .ok_or_else(|| OAuthError::invalid_scope("the scope parameter is malformed"))?,
        ),
        None => None,
    };
    // `slot` is `Some` exactly for the password grant.
    let result = match (grant_type, slot) {
        (_, Some(slot)) => {
            password::grant(&state, ip, &client, &params, requested.as_ref(), slot).await
        }
        ("refresh_token", None) => {
            refresh::grant(&state, ip, &client, &params, requested.as_ref()).await
        }
        // The scope was fixed at the authorization request (RFC 6749 §4.1.3 has none).
        ("authorization_code", None) => {
            authorization_code::grant(&state, ip, &client, &params).await
        }
        _ => client_credentials::grant(&state, ip, &client, requested.as_ref()).await,
    };
    result.map_err(|e| {
        if e.code == "invalid_client" {
            OAuthError::invalid_client(basic)
        } else {
            e
        }
    })
}

/// `invalid_scope` saying which scope failed and how to allow it (the requester has
/// authenticated; the rules are the administrator's, not secrets).
fn scope_error(client_id: &str) -> impl Fn(ScopeRefusal) -> OAuthError + '_ {
    move |refusal| match refusal {
        ScopeRefusal::Unknown(s) => OAuthError::invalid_scope(format!(
            "unknown scope {s} (an administrator creates it: PUT /admin/scopes/{s} or rampart scope create {s})"
        )),
        ScopeRefusal::NothingGrantable {
            client_refuses,
            not_held,
        } => {
            let mut parts = Vec::new();
            if !client_refuses.is_empty() {
                parts.push(format!(
                    "the client {client_id} may not be granted {} (allow it with PATCH /admin/clients/{client_id} {{\"scopes\": [...]}})",
                    client_refuses.join(" ")
                ));
            }
            if !not_held.is_empty() {
                parts.push(format!("no role of this user holds {}", not_held.join(" ")));
            }
            OAuthError::invalid_scope(format!(
                "none of the requested scopes may be granted: {}",
                parts.join("; ")
            ))
        }
    }
}

async fn scope_sets(
    state: &TokenState,
) -> Result<(BTreeSet<String>, BTreeSet<String>), OAuthError> {
    let all = state.accounts.scopes().await?;
    let known = all.iter().map(|s| s.name.clone()).collect();
    let defaults = all
        .iter()
        .filter(|s| s.is_default)
        .map(|s| s.name.clone())
        .collect();
    Ok((known, defaults))
}

/// The first refresh token of session `session`, stored before it is returned, when the
/// client may use the refresh grant; `None` otherwise.
async fn refresh_token_for(
    state: &TokenState,
    client: &crate::store::Client,
    user_id: uuid::Uuid,
    scope: &str,
    session: uuid::Uuid,
) -> Result<Option<String>, OAuthError> {
    if !client.grants.iter().any(|g| g == "refresh_token") {
        return Ok(None);
    }
    let (value, hash, row) = state.issuer.new_refresh(client, user_id, scope, session);
    state.accounts.start_session(&row, &hash).await?;
    Ok(Some(value))
}

async fn held_scopes(state: &TokenState, user: &User) -> Result<BTreeSet<String>, OAuthError> {
    state.accounts.user_scopes(user).await.map_err(|e| {
        tracing::error!(error = %e, "reading roles failed");
        OAuthError::server_error()
    })
}
