//! [`Hsts`] and the [`SecurityHeadersLayer`]: response headers every HTTPS response of
//! an API or token server should carry.

use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use tower::{Layer, Service};
use tower_http::set_header::SetResponseHeader;

use super::ConfigError;

/// The default `max-age`: two years, as recommended by the HSTS preload list.
const TWO_YEARS: Duration = Duration::from_secs(63_072_000);
/// The smallest `max-age` the preload list accepts.
const ONE_YEAR: Duration = Duration::from_secs(31_536_000);

/// An HTTP Strict Transport Security policy (RFC 6797): browsers that saw it use only
/// HTTPS for this host until `max-age` runs out.
///
/// The default is `max-age=63072000; includeSubDomains`. Preload is opt-in, because being
/// on the browsers' preload list is hard to undo; [`preload`](Self::preload) checks the
/// policy as it stands, so call it last.
///
/// ```
/// use std::time::Duration;
/// use rampart::https::Hsts;
///
/// assert_eq!(Hsts::default().header_value(), "max-age=63072000; includeSubDomains");
/// let preload = Hsts::default().preload()?;
/// assert_eq!(preload.header_value(), "max-age=63072000; includeSubDomains; preload");
/// assert!(Hsts::default().max_age(Duration::from_secs(300)).preload().is_err());
/// # Ok::<(), rampart::https::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    max_age: Duration,
    include_subdomains: bool,
    preload: bool,
}

impl Default for Hsts {
    fn default() -> Self {
        Self {
            max_age: TWO_YEARS,
            include_subdomains: true,
            preload: false,
        }
    }
}

impl Hsts {
    /// Sets `max-age` (whole seconds; default two years). Zero tells browsers to forget
    /// the policy (RFC 6797 §6.1.1). Removes a `preload` set earlier: call
    /// [`preload`](Self::preload) last, so that it checks the final policy.
    #[must_use]
    pub fn max_age(self, max_age: Duration) -> Self {
        Self {
            max_age,
            preload: false,
            ..self
        }
    }

    /// Sends `includeSubDomains` or not (default: sent). Removes a `preload` set earlier,
    /// like [`max_age`](Self::max_age).
    #[must_use]
    pub fn include_subdomains(self, include_subdomains: bool) -> Self {
        Self {
            include_subdomains,
            preload: false,
            ..self
        }
    }

    /// Adds the `preload` directive, asking to be put on the browsers' built-in list.
    ///
    /// The list requires `includeSubDomains` and a `max-age` of at least one year; anything
    /// less is a [`ConfigError::HstsPreload`]. Every subdomain must then serve HTTPS, and
    /// plain HTTP must redirect to HTTPS on the same host.
    pub fn preload(self) -> Result<Self, ConfigError> {
        if !self.include_subdomains {
            return Err(ConfigError::HstsPreload("includeSubDomains"));
        }
        if self.max_age < ONE_YEAR {
            return Err(ConfigError::HstsPreload(
                "a max-age of at least one year (31536000 seconds)",
            ));
        }
        Ok(Self {
            preload: true,
            ..self
        })
    }

    /// The `max-age`.
    pub fn max_age_duration(&self) -> Duration {
        self.max_age
    }

    /// Whether `includeSubDomains` is sent.
    pub fn includes_subdomains(&self) -> bool {
        self.include_subdomains
    }

    /// Whether `preload` is sent.
    pub fn is_preload(&self) -> bool {
        self.preload
    }

    /// The `Strict-Transport-Security` value, e.g. `max-age=63072000; includeSubDomains`.
    pub fn header_value(&self) -> HeaderValue {
        // RFC 6797 §6.1: max-age is required, the other directives are valueless.
        let mut value = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if self.preload {
            value.push_str("; preload");
        }
        HeaderValue::try_from(value).expect("digits and ASCII directives form a valid header")
    }
}

/// A layer that sets security headers on every response that does not already have them:
///
/// | header | value |
/// |---|---|
/// | `Strict-Transport-Security` | [`Hsts::header_value`], only when given |
/// | `X-Content-Type-Options` | `nosniff` |
/// | `Referrer-Policy` | `no-referrer` |
/// | `X-Frame-Options` | `DENY` |
/// | `Content-Security-Policy` | `frame-ancestors 'none'` |
///
/// Headers a handler set itself are kept, so a documentation page can send its own CSP.
///
/// Pass `None` for a plain-HTTP listener: HSTS must not be sent over plain HTTP (RFC 6797
/// §7.2). In proxy mode, put this layer inside [`RequireHttpsLayer`](super::RequireHttpsLayer)
/// so that the redirects it answers for plain-HTTP requests carry no HSTS.
///
/// `Cache-Control: no-store` is not set here: it belongs on responses that carry tokens or
/// personal data (RFC 6749 §5.1), and rampart's rejections and token server already send it.
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart::https::{Hsts, SecurityHeadersLayer};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(SecurityHeadersLayer::new(Some(Hsts::default())));
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeadersLayer {
    hsts: Option<HeaderValue>,
}

impl SecurityHeadersLayer {
    /// The headers above, with `Strict-Transport-Security` only when `hsts` is `Some`.
    pub fn new(hsts: Option<Hsts>) -> Self {
        Self {
            hsts: hsts.as_ref().map(Hsts::header_value),
        }
    }
}

/// tower-http's `SetResponseHeader`, once per header, each in `if_not_present` mode.
type SetFive<S> = SetResponseHeader<
    SetResponseHeader<
        SetResponseHeader<
            SetResponseHeader<SetResponseHeader<S, Option<HeaderValue>>, HeaderValue>,
            HeaderValue,
        >,
        HeaderValue,
    >,
    HeaderValue,
>;

/// The service made by [`SecurityHeadersLayer`]: sets the headers listed there on every
/// response of `S` that does not already have them.
#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: SetFive<S>,
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let s =
            SetResponseHeader::if_not_present(inner, STRICT_TRANSPORT_SECURITY, self.hsts.clone());
        let s = SetResponseHeader::if_not_present(
            s,
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        let s = SetResponseHeader::if_not_present(
            s,
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        let s =
            SetResponseHeader::if_not_present(s, X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        let inner = SetResponseHeader::if_not_present(
            s,
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        SecurityHeaders { inner }
    }
}

impl<S, R> Service<R> for SecurityHeaders<S>
where
    SetFive<S>: Service<R>,
{
    type Response = <SetFive<S> as Service<R>>::Response;
    type Error = <SetFive<S> as Service<R>>::Error;
    type Future = <SetFive<S> as Service<R>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use http::{Request, Response};
    use tower::ServiceExt;

    #[test]
    fn hsts_values_follow_rfc_6797() {
        /// (name, policy or config error, expected header value or `Err` for a config error)
        type HstsCase = (
            &'static str,
            Result<Hsts, ConfigError>,
            Result<&'static str, ()>,
        );
        let year = ONE_YEAR;
        let hsts = |max_age, subdomains| {
            Hsts::default()
                .max_age(max_age)
                .include_subdomains(subdomains)
        };
        #[rustfmt::skip]
        let cases: Vec<HstsCase> = vec![
            ("default", Ok(Hsts::default()), Ok("max-age=63072000; includeSubDomains")),
            ("without subdomains", Ok(hsts(year, false)), Ok("max-age=31536000")),
            ("zero clears the policy", Ok(hsts(Duration::ZERO, false)), Ok("max-age=0")),
            ("sub-second part dropped", Ok(hsts(Duration::from_millis(1500), true)),
                Ok("max-age=1; includeSubDomains")),
            ("preload with defaults", Hsts::default().preload(),
                Ok("max-age=63072000; includeSubDomains; preload")),
            ("preload at exactly one year", hsts(year, true).preload(),
                Ok("max-age=31536000; includeSubDomains; preload")),
            ("preload needs includeSubDomains", hsts(TWO_YEARS, false).preload(), Err(())),
            ("preload needs one year", hsts(year - Duration::from_secs(1), true).preload(), Err(())),
            ("a later setter removes preload", Hsts::default().preload().map(|h| h.max_age(year)),
                Ok("max-age=31536000; includeSubDomains")),
        ];
        for (name, hsts, want) in cases {
            let got = hsts.map(|h| h.header_value()).map_err(|_| ());
            let want = want.map(HeaderValue::from_static);
            assert_eq!(got, want, "case: {name}");
        }
    }

    async fn headers_of(app: Router) -> http::HeaderMap {
        let request = Request::builder().uri("/").body(Body::empty());
        let response = app
            .oneshot(request.expect("static request"))
            .await
            .expect("infallible router");
        response.headers().clone()
    }

    #[tokio::test]
    async fn every_header_is_set_and_hsts_only_when_given() {
        let route = || Router::new().route("/", get(|| async { "hi" }));
        let with =
            headers_of(route().layer(SecurityHeadersLayer::new(Some(Hsts::default())))).await;
        assert_eq!(
            with[STRICT_TRANSPORT_SECURITY],
            "max-age=63072000; includeSubDomains"
        );
        assert_eq!(with[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(with[REFERRER_POLICY], "no-referrer");
        assert_eq!(with[X_FRAME_OPTIONS], "DENY");
        assert_eq!(with[CONTENT_SECURITY_POLICY], "frame-ancestors 'none'");

        let without = headers_of(route().layer(SecurityHeadersLayer::new(None))).await;
        assert!(!without.contains_key(STRICT_TRANSPORT_SECURITY));
        assert_eq!(without[X_FRAME_OPTIONS], "DENY");
    }

    #[tokio::test]
    async fn a_handler_may_send_its_own_csp() {
        let docs = || async {
            let mut response: Response<Body> = "docs".into_response();
            let csp = HeaderValue::from_static("default-src 'self'");
            response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
            response
        };
        let app = Router::new()
            .route("/", get(docs))
            .layer(SecurityHeadersLayer::new(None));
        let headers = headers_of(app).await;
        assert_eq!(headers[CONTENT_SECURITY_POLICY], "default-src 'self'");
        assert_eq!(headers.get_all(CONTENT_SECURITY_POLICY).iter().count(), 1);
    }
}
