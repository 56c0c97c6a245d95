//! CSRF defence for state-changing routes: tower-http's [`CsrfLayer`] (the Go 1.25
//! `Sec-Fetch-Site` + `Origin` scheme, no tokens) with Rampart's defaults and a JSON 403.
//!
//! Safe methods (GET, HEAD, OPTIONS) pass; a cross-site browser request with another
//! method is refused unless its `Origin` is trusted. Requests without `Sec-Fetch-Site`
//! and `Origin` (curl, server-to-server clients) pass: they carry no ambient browser
//! credentials. Bearer tokens in `Authorization` are not ambient either, so CSRF mostly
//! matters for cookies; the layer is cheap insurance for anything a browser can send
//! on its own.
//!
//! Deployment caveat (from tower-http): proxies must forward `Origin` and `Host`
//! unchanged, or the `Origin`/`Host` fallback cannot match.
//!
//! ```
//! let csrf = rampart::csrf::layer(["https://app.example.com"]).expect("valid origins");
//! let app: axum::Router = axum::Router::new().layer(csrf);
//! ```

use axum::body::Body;
use axum::response::IntoResponse;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;
use tower_http::csrf::ResponseForProtectionError;
pub use tower_http::csrf::{CsrfLayer, ProtectionError, ProtectionErrorKind};

/// A trusted origin that is not an exact `scheme://host[:port]` origin (a path, a query,
/// another scheme, a non-ASCII host). Returned by [`layer`] at start-up, never per request.
///
/// The reason comes from tower-http's CSRF layer, which does the parsing; it is
/// [`source`](std::error::Error::source) of this error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid trusted origin: {0}")]
pub struct TrustedOriginError(#[source] tower_http::csrf::ConfigError);

impl TrustedOriginError {
    /// tower-http's own description of what is wrong with the origin.
    pub fn reason(&self) -> &tower_http::csrf::ConfigError {
        &self.0
    }
}

/// The rejection: 403 `{"error":"cross_site_request", "error_description": …}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl ResponseForProtectionError<Body> for JsonRejection {
    fn response_for_protection_error(&mut self, error: ProtectionError) -> Response<Body> {
        let description = match error.kind() {
            ProtectionErrorKind::CrossOriginRequestFromOldBrowser => {
                "the request's Origin does not match this site and the browser did not send Sec-Fetch-Site"
            }
            _ => "cross-site requests that change state are refused",
        };
        let mut response = (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "cross_site_request", "error_description": description})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A CSRF layer trusting `origins` (exact `scheme://host[:port]` strings), answering
/// refusals with [`JsonRejection`]. Invalid origins are reported here, at start-up.
pub fn layer<I, S>(origins: I) -> Result<CsrfLayer<JsonRejection>, TrustedOriginError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut layer = CsrfLayer::new();
    for origin in origins {
        layer = layer
            .add_trusted_origin(origin.as_ref())
            .map_err(TrustedOriginError)?;
    }
    Ok(layer.with_rejection_response(JsonRejection))
}
