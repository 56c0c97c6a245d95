//! Access tokens in a cookie, for browser apps, only ever behind the CSRF check.
//!
//! Opt-in. A cookie is sent by the browser on its own, so a cookie-carried token is an
//! ambient credential and every state-changing route that accepts it needs CSRF defence.
//! Here that cannot be forgotten, by construction: the extractors ([`Auth`](crate::Auth),
//! [`Scoped`](crate::Scoped), …) never read the `Cookie` header themselves. They accept a
//! cookie token only when a [`CookieTokensLayer`] found it, and that layer *is* the CSRF
//! layer: its service is tower-http's [`Csrf`] wrapped around the cookie reader, with no
//! bypass, so a cross-site state-changing request is refused (JSON 403) before the cookie
//! is even looked at. The marker it leaves in the request extensions has a private
//! constructor, so no other code can smuggle a cookie token in.
//!
//! The cookie itself is written by [`CookieTokensLayer::set_cookie`]: `HttpOnly` (no script
//! can read it), `Secure` (HTTPS only), `SameSite=Strict` (not sent on cross-site
//! navigation or subrequests), `Path=/`, and by default the `__Host-` name prefix (the
//! browser refuses it unless it is `Secure`, host-only and `Path=/`).
//!
//! A request with an `Authorization` header is judged by that header alone; the cookie is
//! then ignored (a script-driven client chose its credentials explicitly).
//!
//! ```
//! # fn main() -> Result<(), rampart::cookie::CookieConfigError> {
//! use axum::{Router, routing::get};
//! use rampart::cookie::CookieTokensLayer;
//!
//! let cookies = CookieTokensLayer::new("__Host-access", ["https://app.example.com"])?;
//! # let validator = rampart::testing::TestIssuer::new(rampart::Algorithm::ES256).validator();
//! let app: Router = Router::new()
//!     .route("/me", get(|auth: rampart::Auth| async move { auth.subject().unwrap_or("").to_owned() }))
//!     .layer(cookies)
//!     .with_state(validator);
//! # Ok(()) }
//! ```

use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, header};
use tower::{Layer, Service};
use tower_http::csrf::{Csrf, CsrfLayer, ResponseForProtectionError, ResponseFuture};

use crate::csrf::{JsonRejection, TrustedOriginError};
use crate::extract::bearer::is_b64token;

/// The token a [`CookieTokensLayer`] found in the request's cookie, after the CSRF check.
/// Only this module can make one.
#[derive(Clone)]
pub(crate) struct CookieToken(pub(crate) String);

/// Why a [`CookieTokensLayer`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CookieConfigError {
    /// The cookie name is not an RFC 6265 token.
    #[error("invalid cookie name {0:?}: use letters, digits and !#$%&'*+-.^_`|~ only")]
    Name(String),
    /// A trusted origin is not a `scheme://host[:port]` origin.
    #[error(transparent)]
    Origin(#[from] TrustedOriginError),
}

/// The layer that accepts access tokens from a cookie, behind the CSRF check. See the
/// [module docs](self).
#[derive(Clone)]
pub struct CookieTokensLayer {
    name: String,
    csrf: CsrfLayer<JsonRejection>,
}

impl std::fmt::Debug for CookieTokensLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieTokensLayer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CookieTokensLayer {
    /// Tokens from the cookie `name`, with state-changing requests from any origin but
    /// this site's own and `trusted_origins` refused. Use a `__Host-` name unless you
    /// have a reason not to.
    pub fn new<I, S>(name: &str, trusted_origins: I) -> Result<Self, CookieConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(CookieConfigError::Name(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            csrf: crate::csrf::layer(trusted_origins)?,
        })
    }

    /// The cookie's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` value that stores `token` for `max_age` (give the token's
    /// lifetime): `HttpOnly; Secure; SameSite=Strict; Path=/`. `None` when the token is
    /// not a `b64token` (a JWT always is), so nothing can be injected into the header.
    pub fn set_cookie(&self, token: &str, max_age: Duration) -> Option<HeaderValue> {
        if !is_b64token(token) {
            return None;
        }
        HeaderValue::try_from(format!(
            "{}={token}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Strict",
            self.name,
            max_age.as_secs()
        ))
        .ok()
    }

    /// The `Set-Cookie` value that deletes the cookie (logout).
    pub fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::try_from(format!(
            "{}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict",
            self.name
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
    }

    /// The value of this layer's cookie in the request's `Cookie` headers, if any.
    fn find<'r>(&self, headers: &'r http::HeaderMap) -> Option<&'r str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim_matches('"'))
    }
}

impl<S> Layer<S> for CookieTokensLayer {
    type Service = CookieTokens<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // The CSRF check runs first; the cookie is read only by the inner service.
        let inner = self.csrf.layer(ReadCookie {
            inner,
            layer: self.clone(),
        });
        CookieTokens { inner }
    }
}

/// The service made by [`CookieTokensLayer`]: tower-http's [`Csrf`] check (JSON 403)
/// around the reader that takes the token out of the cookie. There is no way to get the
/// reader without the check.
#[derive(Clone, Debug)]
pub struct CookieTokens<S> {
    inner: Csrf<ReadCookie<S>, JsonRejection>,
}

impl<S, B, ResBody> Service<Request<B>> for CookieTokens<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    JsonRejection: ResponseForProtectionError<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.inner.call(request)
    }
}

/// The cookie reader inside the CSRF check of a [`CookieTokens`] service.
#[derive(Clone, Debug)]
struct ReadCookie<S> {
    inner: S,
    layer: CookieTokensLayer,
}

impl<S, B> Service<Request<B>> for ReadCookie<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // Anything a caller put there is dropped: only this reader may set it.
        request.extensions_mut().remove::<CookieToken>();
        if !request.headers().contains_key(header::AUTHORIZATION)
            && let Some(token) = self.layer.find(request.headers())
            && !token.is_empty()
        {
            let token = CookieToken(token.to_owned());
            request.extensions_mut().insert(token);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_cookie_attributes() {
        assert!(CookieTokensLayer::new("__Host-access", ["https://a.example"]).is_ok());
        for bad in ["", "a b", "a=b", "a;b", "é"] {
            assert!(matches!(
                CookieTokensLayer::new(bad, ["https://a.example"]),
                Err(CookieConfigError::Name(_))
            ));
        }
        assert!(matches!(
            CookieTokensLayer::new("t", ["not an origin"]),
            Err(CookieConfigError::Origin(_))
        ));
        let cookies = CookieTokensLayer::new("__Host-t", Vec::<String>::new()).unwrap();
        assert_eq!(
            cookies
                .set_cookie("a.b.c", Duration::from_secs(300))
                .unwrap(),
            "__Host-t=a.b.c; Max-Age=300; Path=/; Secure; HttpOnly; SameSite=Strict"
        );
        assert!(cookies.set_cookie("a;b", Duration::from_secs(1)).is_none());
        assert!(
            cookies
                .set_cookie("a\r\nX: y", Duration::from_secs(1))
                .is_none()
        );
        assert_eq!(
            cookies.clear_cookie(),
            "__Host-t=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let cookies = CookieTokensLayer::new("t", Vec::<String>::new()).unwrap();
        let mut headers = http::HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; tt=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("b=3;t=abc.def ; c=4"),
        );
        assert_eq!(cookies.find(&headers), Some("abc.def"));
        headers.clear();
        headers.append(header::COOKIE, HeaderValue::from_static("tt=2; xt=3"));
        assert_eq!(cookies.find(&headers), None);
    }
}
