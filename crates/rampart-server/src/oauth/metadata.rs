//! RFC 8414 metadata and the RFC 7517 key set.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Value, json};

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::keys::Keys;
use crate::state::TokenSettings;

/// `GET /.well-known/oauth-authorization-server`. `issuer` equals the tokens' `iss`.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", operation_id = "server_metadata",
    summary = "Authorization server metadata", tag = "oauth",
    responses((status = 200, description = "RFC 8414 authorization server metadata", body = crate::openapi::schemas::ServerMetadata,
        headers(("Cache-Control" = String, description = "`public, max-age=3600`")))))]
pub async fn metadata(
    State(settings): State<Arc<TokenSettings>>,
    State(accounts): State<Accounts>,
) -> Response {
    let issuer = settings.issuer.trim_end_matches('/');
    let scopes: Vec<Value> = match accounts.scopes().await {
        Ok(scopes) => scopes.into_iter().map(|s| Value::String(s.name)).collect(),
        Err(_) => Vec::new(),
    };
    let body = json!({
        "issuer": settings.issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// `GET /.well-known/jwks.json`: public keys only. The short max-age lets relying
/// parties pick up a rotation well within the rotation delay.
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "jwks",
    summary = "Public signing keys (JWKS)", tag = "oauth",
    responses((status = 200, description = "RFC 7517 key set: the public signing keys", body = crate::openapi::schemas::JwkSet,
        content_type = "application/jwk-set+json",
        headers(("Cache-Control" = String, description = "`public, max-age=300`")))))]
pub async fn jwks(State(keys): State<Keys>) -> Response {
    let mut response = Json(keys.jwks()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    response
}
