//! `ApiError`: the JSON error of every non-OAuth endpoint, rendered once.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::accounts::AccountError;
use crate::store::StoreError;

/// An API error, rendered as `{"error": code, "error_description": text}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_request`: the input breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `conflict`.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// 409 `conflict`: the change contradicts the current state, for the reason given.
    #[error("{0}")]
    Contradicts(String),
    /// 429 `temporarily_unavailable`: too many failed attempts; retry after the seconds given.
    #[error("too many attempts; retry after {0} seconds")]
    TooMany(u64),
    /// 503 `temporarily_unavailable`.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// 500 `server_error`; the cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) | Self::Contradicts(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let retry_after = if let Self::TooMany(secs) = &self {
            Some(*secs)
        } else {
            None
        };
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let description = match &self {
            Self::Internal(_) => "the server could not complete the request".to_owned(),
            other => other.to_string(),
        };
        let mut response = (
            status,
            Json(json!({"error": code, "error_description": description})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::Conflict("the entity"),
            StoreError::NotFound => Self::NotFound("the entity"),
            StoreError::LastHolder => Self::from(AccountError::LastAdmin),
            StoreError::MissingReference => {
                Self::BadRequest("a referenced role or scope does not exist".into())
            }
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                Self::Unavailable
            }
            StoreError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Username(e) => Self::BadRequest(e.to_string()),
            AccountError::Password(e) => Self::BadRequest(e.to_string()),
            AccountError::Profile(e) => Self::BadRequest(e.to_string()),
            AccountError::Conflict(what) => Self::Conflict(what),
            AccountError::NotFound(what) => Self::NotFound(what),
            AccountError::UnknownReference(what) => Self::BadRequest(format!("unknown {what}")),
            e @ AccountError::Unknown(..) => Self::BadRequest(e.to_string()),
            AccountError::Invalid(why) => Self::BadRequest(why),
            e @ AccountError::LastAdmin => Self::Contradicts(e.to_string()),
            AccountError::Store(e) => e.into(),
            AccountError::Hash(crate::accounts::passwords::HashError::Busy) => Self::Unavailable,
            AccountError::Hash(e) => Self::Internal(e.to_string()),
        }
    }
}

/// `Path<T>` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Self::BadRequest(format!(
            "invalid path: {}",
            rejection.body_text().chars().take(200).collect::<String>()
        ))
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s (400 in our format, never axum's text).
/// The body must be a JSON object: serde's derived structs would also accept the array
/// form (`["name", …]`), which no client means.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::BadRequest(
                "expected a request body with Content-Type: application/json".into(),
            ));
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| {
                ApiError::BadRequest(short(&format!("invalid body: {}", e.body_text())))
            })?;
        let invalid =
            |e: serde_json::Error| ApiError::BadRequest(short(&format!("invalid JSON body: {e}")));
        // Duplicate members are refused (last-one-wins would let two readers of the same
        // body disagree), as in JWTs.
        match rampart::json::check_object(&body) {
            Ok(()) => serde_json::from_slice(&body).map(ApiJson).map_err(invalid),
            Err(rampart::json::JsonError::Syntax) => {
                Err(serde_json::from_slice::<serde_json::Value>(&body)
                    .err()
                    .map_or_else(|| ApiError::BadRequest("invalid JSON body".into()), invalid))
            }
            Err(rampart::json::JsonError::NotAnObject) => Err(ApiError::BadRequest(
                "the JSON body must be an object".into(),
            )),
            Err(rampart::json::JsonError::DuplicateMember) => Err(ApiError::BadRequest(
                "the JSON body names a member more than once".into(),
            )),
        }
    }
}

/// `application/json` or a `+json` type, parameters ignored. Pure.
fn json_content_type(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// An error text cut to 200 characters.
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// `Query<T>` whose rejections are [`ApiError`]s (400 in our format, never axum's text).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!(
            "invalid query string: {}",
            rejection.body_text().chars().take(200).collect::<String>()
        ))
    }
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        let mut response = Json(self.0).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_content_type_table() {
        let cases = [
            ("plain", Some("application/json"), true),
            (
                "with a charset",
                Some("application/json; charset=utf-8"),
                true,
            ),
            ("upper case", Some("Application/JSON"), true),
            ("a +json type", Some("application/merge-patch+json"), true),
            ("form", Some("application/x-www-form-urlencoded"), false),
            ("text", Some("text/json"), false),
            ("json as a prefix only", Some("application/jsonx"), false),
            ("none", None, false),
        ];
        for (name, value, want) in cases {
            let mut headers = http::HeaderMap::new();
            if let Some(value) = value {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            }
            assert_eq!(json_content_type(&headers), want, "{name}");
        }
    }
}
