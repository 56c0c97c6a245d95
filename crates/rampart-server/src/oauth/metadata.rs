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
    let scopes = scope_names(&accounts).await;
    cached(document(&settings.issuer, scopes, false))
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): the RFC
/// 8414 document plus what OIDC requires, the same values wherever the two overlap.
#[utoipa::path(get, path = "/.well-known/openid-configuration", operation_id = "openid_configuration",
    summary = "OpenID Provider metadata", tag = "oauth",
    responses((status = 200, description = "OpenID Connect Discovery 1.0 provider metadata", body = crate::openapi::schemas::ServerMetadata,
        headers(("Cache-Control" = String, description = "`public, max-age=3600`")))))]
pub async fn openid_configuration(
    State(settings): State<Arc<TokenSettings>>,
    State(accounts): State<Accounts>,
) -> Response {
    let scopes = scope_names(&accounts).await;
    cached(document(&settings.issuer, scopes, true))
}

async fn scope_names(accounts: &Accounts) -> Vec<String> {
    match accounts.scopes().await {
        Ok(scopes) => scopes.into_iter().map(|s| s.name).collect(),
        Err(_) => Vec::new(),
    }
}

/// The metadata document; `oidc` adds the OpenID Provider fields. Pure.
pub fn document(issuer_url: &str, scopes: Vec<String>, oidc: bool) -> Value {
    let issuer = issuer_url.trim_end_matches('/');
    let mut body = json!({
        "issuer": issuer_url,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    });
    if oidc && let Some(map) = body.as_object_mut() {
        for (name, value) in [
            ("subject_types_supported", json!(["public"])),
            (
                "id_token_signing_alg_values_supported",
                json!([crate::keys::ID_TOKEN_ALG.as_str()]),
            ),
            (
                "claims_supported",
                json!([
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "azp",
                    "at_hash",
                    "sid",
                    "name",
                    "preferred_username",
                    "email",
                    "email_verified"
                ]),
            ),
            ("claims_parameter_supported", json!(false)),
            ("request_parameter_supported", json!(false)),
            ("request_uri_parameter_supported", json!(false)),
        ] {
            map.insert(name.to_owned(), value);
        }
    }
    body
}

fn cached(body: Value) -> Response {
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
