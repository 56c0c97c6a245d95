//! RFC 6750 §3 rejections: one typed value per failure, rendered once.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::token::TokenError;

/// Replaces the body of a rejection; see [`ValidatorBuilder::rejection_body`](crate::ValidatorBuilder::rejection_body).
pub type RenderFn = Arc<dyn Fn(&Rejection) -> Response + Send + Sync>;

/// What went wrong, in RFC 6750 terms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No bearer credentials at all: 401 with a bare challenge (RFC 6750 §3.1, last paragraph).
    Missing,
    /// The request itself is malformed: 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// The token is not acceptable: 401 `invalid_token`.
    InvalidToken(TokenError),
    /// The token lacks scopes: 403 `insufficient_scope` with `scope="…"`.
    InsufficientScope(String),
    /// The token lacks a role: 403 `insufficient_scope` (roles are not OAuth scopes, so
    /// no `scope` attribute is sent).
    MissingRole(String),
    /// Keys cannot be obtained right now: 503, the client may retry.
    Unavailable,
}

/// A refused request. Implements [`IntoResponse`]; never contains the token.
#[derive(Clone)]
pub struct Rejection {
    kind: RejectionKind,
    realm: Arc<str>,
    render: Option<RenderFn>,
}

impl std::fmt::Debug for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, validator: &crate::Validator) -> Self {
        Self {
            kind,
            realm: Arc::from(validator.realm()),
            render: validator.renderer(),
        }
    }

    pub(crate) fn from_token_error(err: TokenError, validator: &crate::Validator) -> Self {
        let kind = if err.is_unavailable() {
            RejectionKind::Unavailable
        } else {
            RejectionKind::InvalidToken(err)
        };
        Self::new(kind, validator)
    }

    /// The failure.
    pub fn kind(&self) -> &RejectionKind {
        &self.kind
    }

    /// The HTTP status: 400, 401, 403 or 503.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            RejectionKind::Missing | RejectionKind::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            RejectionKind::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            RejectionKind::InsufficientScope(_) | RejectionKind::MissingRole(_) => {
                StatusCode::FORBIDDEN
            }
            RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 `error` code, if the response carries one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self.kind {
            RejectionKind::Missing => None,
            RejectionKind::InvalidRequest(_) => Some("invalid_request"),
            RejectionKind::InvalidToken(_) => Some("invalid_token"),
            RejectionKind::InsufficientScope(_) | RejectionKind::MissingRole(_) => {
                Some("insufficient_scope")
            }
            RejectionKind::Unavailable => Some("temporarily_unavailable"),
        }
    }

    /// A human-readable description, safe to send (no token, no key material).
    pub fn description(&self) -> String {
        match &self.kind {
            RejectionKind::Missing => "a bearer token is required".to_owned(),
            RejectionKind::InvalidRequest(why) => (*why).to_owned(),
            RejectionKind::InvalidToken(err) => err.to_string(),
            RejectionKind::InsufficientScope(scope) => {
                format!("the token lacks the scope(s): {scope}")
            }
            RejectionKind::MissingRole(role) => format!("the token lacks the role(s): {role}"),
            RejectionKind::Unavailable => {
                "token signing keys are temporarily unavailable".to_owned()
            }
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), if this rejection has one.
    pub fn challenge(&self) -> Option<String> {
        let realm = &self.realm;
        match &self.kind {
            RejectionKind::Missing => Some(format!("Bearer realm=\"{realm}\"")),
            RejectionKind::InsufficientScope(scope) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"{}\", scope=\"{}\"",
                quoted_safe(&self.description()),
                quoted_safe(scope)
            )),
            RejectionKind::Unavailable => None,
            _ => Some(format!(
                "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{}\"",
                self.error_code().unwrap_or_default(),
                quoted_safe(&self.description())
            )),
        }
    }

    pub(crate) fn render(&self, custom: Option<&RenderFn>) -> Response {
        let mut response = match custom {
            Some(render) => render(self),
            None => self.default_body(),
        };
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        if let Some(value) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if matches!(self.kind, RejectionKind::Unavailable) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// The default body: `{"error": …, "error_description": …}`; for a missing token,
    /// `{"error": "unauthorized", …}` since RFC 6750 defines no code for that case.
    pub fn default_body(&self) -> Response {
        let body = serde_json::json!({
            "error": self.error_code().unwrap_or("unauthorized"),
            "error_description": self.description(),
        });
        Json(body).into_response()
    }
}

/// RFC 6750 §3: `error_description` and `scope` must not contain `"` or `\` and must be
/// printable ASCII.
fn quoted_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
        .collect()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.render(self.render.as_ref())
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description())
    }
}

impl std::error::Error for Rejection {}
