//! `POST /oauth/introspect` (RFC 7662).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

use std::sync::Arc;

use super::client_auth::{ClientAuth, authenticate};
use super::error::OAuthError;
use super::form::Params;
use crate::accounts::Accounts;
use crate::state::{AnyAudience, TokenSettings};
use rampart::https::ClientIp;

/// Only clients that authenticate with a secret may introspect (§2.1: the endpoint must
/// be protected). An inactive or unknown token answers exactly `{"active":false}`.
#[utoipa::path(post, path = "/oauth/introspect", operation_id = "introspect",
    summary = "Introspect a token (confidential clients)", tag = "oauth",
    request_body(content = crate::openapi::schemas::IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "The token's state (RFC 7662 §2.2)", body = crate::openapi::schemas::Introspection,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, response = crate::openapi::schemas::OAuthBadRequest),
        (status = 401, response = crate::openapi::schemas::InvalidClient),
        (status = 413, response = crate::openapi::schemas::FormTooLarge),
        (status = 429, response = crate::openapi::schemas::TooManyAttempts),
        (status = 503, response = crate::openapi::schemas::OAuthUnavailable),
    ))]
pub async fn introspect(
    State(clients): State<ClientAuth>,
    State(accounts): State<Accounts>,
    State(any_audience): State<AnyAudience>,
    State(settings): State<Arc<TokenSettings>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let params = Params::parse(&headers, &body)?;
    let client = authenticate(&clients, ip, &headers, &params).await?;
    if !client.has_secret() {
        return Err(OAuthError::invalid_client(false));
    }
    let token = params.require("token")?;
    let body = match any_audience.checked.validate(token).await {
        Ok(claims) => {
            let mut out = serde_json::to_value(&claims).unwrap_or_else(|_| json!({}));
            if let Value::Object(map) = &mut out {
                map.insert("active".into(), Value::Bool(true));
                map.insert("token_type".into(), Value::String("Bearer".into()));
            }
            out
        }
        Err(_) => refresh_status(&accounts, &settings, token, &client.client.id).await?,
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A refresh token is reported only to the client it belongs to.
async fn refresh_status(
    accounts: &Accounts,
    settings: &TokenSettings,
    token: &str,
    client_id: &str,
) -> Result<Value, OAuthError> {
    let now = accounts.clock.now();
    let Some(record) = accounts
        .refresh_token(&crate::secret::digest(token))
        .await?
    else {
        return Ok(json!({"active": false}));
    };
    let live = record.used_at.is_none()
        && record.revoked_at.is_none()
        && record.expires_at > now
        && record.idle_expires_at > now;
    if !live || record.client_id != client_id {
        return Ok(json!({"active": false}));
    }
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": record.scope,
        "client_id": record.client_id,
        "sub": record.user_id.to_string(),
        "iss": settings.issuer,
        "exp": record.expires_at.min(record.idle_expires_at),
        "iat": record.created_at,
    }))
}
