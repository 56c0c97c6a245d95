//! RFC 6749 §5.2 error responses.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// An OAuth error response (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub code: &'static str,
    /// The `error_description` (never contains secrets or echoes of input secrets).
    pub description: String,
    status: StatusCode,
    /// The client tried HTTP Basic: answer 401 with a Basic challenge (§5.2).
    basic_challenge: bool,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(code: &'static str, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status,
            basic_challenge: false,
            retry_after: None,
        }
    }
    /// `invalid_request` (400).
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", StatusCode::BAD_REQUEST, d)
    }
    /// `invalid_client` (401); with a Basic challenge when Basic was used.
    pub fn invalid_client(basic: bool) -> Self {
        Self {
            basic_challenge: basic,
            ..Self::new(
                "invalid_client",
                StatusCode::UNAUTHORIZED,
                "client authentication failed",
            )
        }
    }
    /// `invalid_grant` (400).
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", StatusCode::BAD_REQUEST, d)
    }
    /// `unauthorized_client` (400).
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", StatusCode::BAD_REQUEST, d)
    }
    /// `unsupported_grant_type` (400).
    pub fn unsupported_grant_type() -> Self {
        Self::new(
            "unsupported_grant_type",
            StatusCode::BAD_REQUEST,
            "the grant type is not supported",
        )
    }
    /// `invalid_scope` (400).
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", StatusCode::BAD_REQUEST, d)
    }
    /// `server_error` (500). The cause is logged by the caller, never sent.
    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request",
        )
    }
    /// `temporarily_unavailable` (503).
    pub fn unavailable(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                "temporarily_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is temporarily unavailable; retry later",
            )
        }
    }
    /// 429: too many attempts; retry after `secs` (brute-force backoff, rate limit).
    pub fn too_many(secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..Self::new(
                "temporarily_unavailable",
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many attempts; retry after {secs} seconds"),
            )
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": self.code, "error_description": self.description})),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"rampart\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                Self::unavailable(5)
            }
            other => {
                tracing::error!(error = %other, "store error in an OAuth endpoint");
                Self::server_error()
            }
        }
    }
}

impl From<crate::accounts::login::LoginError> for OAuthError {
    fn from(e: crate::accounts::login::LoginError) -> Self {
        use crate::accounts::login::LoginError;
        match e {
            LoginError::Locked(wait) => Self::too_many(wait),
            LoginError::Incorrect => Self::invalid_grant("the username or password is incorrect"),
            LoginError::Busy(retry_after) => Self::unavailable(retry_after.as_secs()),
            LoginError::Failed => Self::server_error(),
            LoginError::Store(e) => e.into(),
        }
    }
}
