//! `POST /oauth/revoke` (RFC 7009).

use axum::body::Bytes;
use axum::extract::State;
use http::{HeaderMap, StatusCode};

use std::sync::Arc;

use super::client_auth::{ClientAuth, authenticate};
use super::error::OAuthError;
use super::form::Params;
use crate::accounts::Accounts;
use crate::audit::{Audit, Event, Kind};
use crate::state::{AnyAudience, Denylist};
use rampart::https::ClientIp;

/// Revokes a refresh token (its whole family) or an access token (its `jti` goes on the
/// denylist until it expires). Per RFC 7009 §2.2 the answer is 200 whether or not the
/// token was valid, and a token of another client is left alone.
#[utoipa::path(post, path = "/oauth/revoke", operation_id = "revoke",
    summary = "Revoke a refresh or access token", tag = "oauth",
    request_body(content = crate::openapi::schemas::RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (RFC 7009 §2.2)"),
        (status = 400, response = crate::openapi::schemas::OAuthBadRequest),
        (status = 401, response = crate::openapi::schemas::InvalidClient),
        (status = 413, response = crate::openapi::schemas::FormTooLarge),
        (status = 429, response = crate::openapi::schemas::TooManyAttempts),
        (status = 503, response = crate::openapi::schemas::OAuthUnavailable),
    ))]
#[allow(
    clippy::too_many_arguments,
    reason = "an axum handler: one extractor per piece of state it uses (FromRef narrowing)"
)]
pub async fn revoke(
    State(clients): State<ClientAuth>,
    State(accounts): State<Accounts>,
    State(any_audience): State<AnyAudience>,
    State(denylist): State<Arc<Denylist>>,
    State(audit): State<Audit>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, OAuthError> {
    let params = Params::parse(&headers, &body)?;
    let client = authenticate(&clients, ip, &headers, &params).await?;
    let token = params.require("token")?;
    // The hint only orders the lookups (§2.1); an unknown hint is not an error for us
    // because both types are supported and checked anyway.
    if let Some(record) = accounts
        .refresh_token(&crate::secret::digest(token))
        .await?
    {
        if record.client_id == client.client.id {
            // RFC 7009 §2.1: the access tokens of the same grant end with it.
            accounts.revoke_session(record.family_id).await?;
            audit
                .record(
                    Event::new(Kind::Revocation)
                        .actor(&client.client.id)
                        .subject(record.family_id)
                        .client(&client.client.id)
                        .ip(ip)
                        .details(serde_json::json!({"token_type": "refresh_token", "user_id": record.user_id})),
                )
                .await;
        }
        return Ok(StatusCode::OK);
    }
    if let Ok(claims) = any_audience.signed.validate(token).await
        && claims.client_id.as_deref() == Some(client.client.id.as_str())
        && let (Some(jti), Some(exp)) = (claims.jti, claims.exp)
    {
        accounts.revoke_access_token(&jti, exp).await?;
        denylist.insert(jti.clone(), exp);
        audit
            .record(
                Event::new(Kind::Revocation)
                    .actor(&client.client.id)
                    .subject(jti)
                    .client(&client.client.id)
                    .ip(ip)
                    .details(serde_json::json!({"token_type": "access_token", "sub": claims.sub})),
            )
            .await;
    }
    Ok(StatusCode::OK)
}
