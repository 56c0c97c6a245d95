//! Schemas of the bodies whose handlers parse or build them by hand: the OAuth forms
//! (parsed strictly by `oauth::form::Params`), the RFC 8414/7517/7662 documents (built as
//! JSON values), the error shapes, and the health checks. Reusable error responses too.

use serde_json::Value;
use utoipa::{ToResponse, ToSchema};

/// The error body of every non-OAuth endpoint (`ApiError`) and of every bearer-token
/// rejection (RFC 6750 §3).
#[derive(ToSchema)]
#[schema(as = Error, example = json!({"error": "not_found", "error_description": "user not found"}))]
pub struct ErrorBody {
    /// `invalid_request`, `forbidden`, `not_found`, `conflict`, `temporarily_unavailable`;
    /// for a refused token `unauthorized` (none sent), `invalid_token`,
    /// `insufficient_scope`.
    pub error: String,
    /// A human-readable explanation.
    pub error_description: String,
}

/// RFC 6749 §5.2 error response (also RFC 7009 §2.2.1 and RFC 7662 §2.3).
#[derive(ToSchema)]
#[schema(as = OAuthError, example = json!({"error": "invalid_grant", "error_description": "the username or password is incorrect"}))]
pub struct OAuthErrorBody {
    /// The RFC 6749 §5.2 error code; `server_error` and `temporarily_unavailable` as in
    /// §4.1.2.1.
    pub error: OAuthErrorCode,
    /// A human-readable explanation; never echoes a secret.
    pub error_description: String,
}

/// The RFC 6749 error codes this server sends.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
}

/// The grants of the token endpoint.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.3: `username` + `password`.
    Password,
    /// RFC 6749 §6: `refresh_token` (rotated on every use).
    RefreshToken,
    /// RFC 6749 §4.4: confidential clients only.
    ClientCredentials,
    /// RFC 6749 §4.1.3 with PKCE (RFC 7636): `code`, `redirect_uri`, `code_verifier`.
    AuthorizationCode,
}

/// `POST /oauth/token` (RFC 6749 §4.3, §4.4, §6), `application/x-www-form-urlencoded`.
/// Each parameter at most once; an empty value counts as absent (§3.1).
///
/// Client authentication (§2.3): HTTP Basic, or `client_id` + `client_secret` in the body,
/// or `client_id` alone for a public client. A `password` request with no client at all is
/// served as the built-in public client `first-party`.
#[derive(ToSchema)]
pub struct TokenRequest {
    pub grant_type: GrantType,
    /// `password` grant.
    // `fields::UsernameText`, or empty (absent).
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._@+-]*$")]
    pub username: Option<String>,
    /// `password` grant.
    #[schema(format = Password)]
    pub password: Option<String>,
    /// `refresh_token` grant.
    pub refresh_token: Option<String>,
    /// `authorization_code` grant: the code from the authorization response.
    pub code: Option<String>,
    /// `authorization_code` grant: the `redirect_uri` of the authorization request.
    pub redirect_uri: Option<String>,
    /// `authorization_code` grant: the PKCE verifier (RFC 7636 §4.5).
    pub code_verifier: Option<String>,
    /// Space-separated scopes to request; absent = the user's default scopes (never
    /// `admin` implicitly). A refresh may only narrow the original grant.
    // Exactly `accounts::scopes::parse_scope`: RFC 6749 §3.3 scope tokens (see
    // `fields::ScopeName`) separated by spaces (checked in `fields`' tests).
    #[schema(
        pattern = "^ *(?:[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}(?: +[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128})*)? *$"
    )]
    pub scope: Option<String>,
    /// The client, when it does not use HTTP Basic (e.g. `first-party`).
    // Exactly `accounts::client_id::plausible_client_id`, or empty (absent).
    #[schema(max_length = 64, pattern = "^[\\x21-\\x7E]*$")]
    pub client_id: Option<String>,
    /// Confidential clients not using HTTP Basic (`client_secret_post`).
    #[schema(format = Password)]
    pub client_secret: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009 §2.1), `application/x-www-form-urlencoded`.
#[derive(ToSchema)]
pub struct RevokeRequest {
    /// The refresh token (its whole family is revoked) or access token (its `jti` is
    /// denied until it expires).
    #[schema(min_length = 1)]
    pub token: String,
    /// `refresh_token` or `access_token`; only orders the lookups.
    pub token_type_hint: Option<String>,
    /// Public clients identify themselves with this (absent = `first-party`).
    // Exactly `accounts::client_id::plausible_client_id`, or empty (absent).
    #[schema(max_length = 64, pattern = "^[\\x21-\\x7E]*$")]
    pub client_id: Option<String>,
    /// `client_secret_post` (with `client_id`).
    #[schema(format = Password)]
    pub client_secret: Option<String>,
}

/// `POST /oauth/introspect` (RFC 7662 §2.1), `application/x-www-form-urlencoded`.
/// Only a confidential client that authenticates with its secret may introspect.
#[derive(ToSchema)]
pub struct IntrospectRequest {
    /// The token to inspect.
    #[schema(min_length = 1)]
    pub token: String,
    /// `refresh_token` or `access_token`; ignored.
    pub token_type_hint: Option<String>,
    /// `client_secret_post` (with `client_secret`); or use HTTP Basic.
    // Exactly `accounts::client_id::plausible_client_id`, or empty (absent).
    #[schema(max_length = 64, pattern = "^[\\x21-\\x7E]*$")]
    pub client_id: Option<String>,
    /// `client_secret_post` (with `client_id`).
    #[schema(format = Password)]
    pub client_secret: Option<String>,
}

/// RFC 7662 §2.2. An inactive, unknown or foreign token is exactly `{"active": false}`; an
/// active access token carries its JWT claims, an active refresh token the members below.
#[derive(ToSchema)]
#[schema(example = json!({"active": true, "token_type": "Bearer", "scope": "profile", "client_id": "first-party", "sub": "7f9c…", "iss": "https://localhost:8443", "exp": 1767225600, "iat": 1767224700}))]
pub struct Introspection {
    pub active: bool,
    /// `Bearer` (access token) or `refresh_token`.
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    pub iss: Option<String>,
    /// A string or an array of strings.
    #[schema(value_type = Object)]
    pub aud: Option<Value>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
}

/// RFC 8414 authorization server metadata.
#[derive(ToSchema)]
pub struct ServerMetadata {
    /// Equals the tokens' `iss`.
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    /// `S256` only (RFC 7636; `plain` is refused).
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: every authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    /// OpenID Connect Discovery only: `public`.
    pub subject_types_supported: Option<Vec<String>>,
    /// OpenID Connect Discovery only: `RS256` (OIDC Core §15.1).
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// OpenID Connect Discovery only.
    pub claims_supported: Option<Vec<String>>,
    /// OpenID Connect Discovery only: `false`.
    pub claims_parameter_supported: Option<bool>,
    /// OpenID Connect Discovery only: `false`.
    pub request_parameter_supported: Option<bool>,
    /// OpenID Connect Discovery only: `false`.
    pub request_uri_parameter_supported: Option<bool>,
}

/// RFC 7517 JSON Web Key Set: the public signing keys, current and recently rotated.
#[derive(ToSchema)]
pub struct JwkSet {
    /// RFC 7517 §4 keys (`kty`, `kid`, `alg`, `use`, and the public parameters).
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Value>,
}

/// `GET /healthz`.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz`.
#[derive(ToSchema)]
#[schema(example = json!({"status": "ready", "store": true, "keys": true}))]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    /// The store answers.
    pub store: bool,
    /// A signing key is active.
    pub keys: bool,
}

/// 400 `invalid_request`: the input breaks a rule (malformed JSON, a field of the wrong
/// type, an unknown field where none is allowed, or a business rule: username format,
/// password policy, unknown role or scope, …). Also a malformed `Authorization` header
/// (RFC 6750 §3.1).
#[derive(ToResponse)]
#[response(example = json!({"error": "invalid_request", "error_description": "unknown role"}))]
pub struct InvalidRequest(pub ErrorBody);

/// 404 `not_found`.
#[derive(ToResponse)]
#[response(example = json!({"error": "not_found", "error_description": "user not found"}))]
pub struct NotFound(pub ErrorBody);

/// 409 `conflict`: it already exists, or the change would leave no enabled administrator.
#[derive(ToResponse)]
#[response(example = json!({"error": "conflict", "error_description": "user already exists"}))]
pub struct Conflict(pub ErrorBody);

/// 503 `temporarily_unavailable`: the store is unreachable or the password-hashing queue
/// is full; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
    example = json!({"error": "temporarily_unavailable", "error_description": "the service is temporarily unavailable"})
)]
pub struct Unavailable(pub ErrorBody);

/// 429 `temporarily_unavailable`: too many wrong guesses from this address or for this
/// account; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
    example = json!({"error": "temporarily_unavailable", "error_description": "too many attempts; retry after 4 seconds"})
)]
pub struct TooManyFailures(pub ErrorBody);

/// 413 `invalid_request`: the form is larger than 16 KiB.
#[derive(ToResponse)]
#[response(example = json!({"error": "invalid_request", "error_description": "the request body exceeds 16384 bytes"}))]
pub struct FormTooLarge(pub OAuthErrorBody);

/// 400: RFC 6749 §5.2 `invalid_request`, `invalid_grant`, `unauthorized_client`,
/// `unsupported_grant_type` or `invalid_scope`.
#[derive(ToResponse)]
#[response(
    headers(("Cache-Control" = String, description = "`no-store`")),
    example = json!({"error": "invalid_grant", "error_description": "the username or password is incorrect"})
)]
pub struct OAuthBadRequest(pub OAuthErrorBody);

/// 401 `invalid_client` (RFC 6749 §5.2): unknown or disabled client, wrong secret, or a
/// confidential client that did not authenticate. A Basic challenge is sent when the
/// client used HTTP Basic.
#[derive(ToResponse)]
#[response(
    headers(("WWW-Authenticate" = String, description = "`Basic realm=\"rampart\"`, when HTTP Basic was used")),
    example = json!({"error": "invalid_client", "error_description": "client authentication failed"})
)]
pub struct InvalidClient(pub OAuthErrorBody);

/// 429 `temporarily_unavailable`: too many attempts from this address, for this account
/// or this client (brute-force backoff); retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
    example = json!({"error": "temporarily_unavailable", "error_description": "too many attempts; retry after 4 seconds"})
)]
pub struct TooManyAttempts(pub OAuthErrorBody);

/// 503 `temporarily_unavailable`: the store is unreachable or the password-hashing queue
/// is full; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying")),
    example = json!({"error": "temporarily_unavailable", "error_description": "the server is temporarily unavailable; retry later"})
)]
pub struct OAuthUnavailable(pub OAuthErrorBody);
