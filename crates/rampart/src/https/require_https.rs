//! [`RequireHttpsLayer`]: the redirect decision for proxy mode, where TLS ends at a
//! trusted proxy and the app sees every request over plain HTTP.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use http::Request;
use tower::{Layer, Service};

use super::origin::Origin;
use super::proxy::{Forwarded, Scheme};
use super::redirect::redirect_decision;

/// A layer that answers requests which reached the trusted proxy over plain HTTP with
/// [`redirect_decision`](super::redirect_decision): 308 to `origin` for GET and HEAD, 400
/// `https_required` otherwise and under `/oauth`. The body of such a request is never read.
///
/// It acts only when the [`Forwarded`] verdict of [`ClientIpLayer`](super::ClientIpLayer)
/// says `proto` is `http`, so `ClientIpLayer` must wrap it (be added after it with
/// `Router::layer`). Requests with `proto` `https` or unknown pass through: an untrusted
/// peer's `X-Forwarded-Proto` is never believed, in either direction.
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart::https::{ClientIpLayer, Origin, RequireHttpsLayer, TrustedProxies};
///
/// # fn main() -> Result<(), rampart::https::ConfigError> {
/// let app: Router = Router::new()
///     .route("/", get(|| async { "over https" }))
///     .layer(RequireHttpsLayer::new(Origin::parse("https://auth.example.com")?))
///     .layer(ClientIpLayer::new(TrustedProxies::new(["10.0.0.0/8"])?)); // outermost
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RequireHttpsLayer {
    origin: Origin,
}

impl RequireHttpsLayer {
    /// Redirects plain-HTTP requests to `origin` (scheme, host and port all from here).
    pub fn new(origin: Origin) -> Self {
        Self { origin }
    }
}

impl<S> Layer<S> for RequireHttpsLayer {
    type Service = RequireHttpsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireHttpsService {
            inner,
            origin: self.origin.clone(),
        }
    }
}

/// The service made by [`RequireHttpsLayer`].
#[derive(Debug, Clone)]
pub struct RequireHttpsService<S> {
    inner: S,
    origin: Origin,
}

impl<S, B> Service<Request<B>> for RequireHttpsService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let proto = request
            .extensions()
            .get::<Forwarded>()
            .and_then(|f| f.proto);
        if proto == Some(Scheme::Http) {
            // Inside a nested router the URI is stripped of its prefix; redirect to the full one.
            let uri = request
                .extensions()
                .get::<OriginalUri>()
                .map_or(request.uri(), |OriginalUri(uri)| uri);
            let decision = redirect_decision(request.method(), uri, &self.origin);
            // Dropping the request here drops its body unread.
            return Either::Left(ready(Ok(decision.into_response())));
        }
        Either::Right(self.inner.call(request))
    }
}
