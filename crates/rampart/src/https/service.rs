//! The service made by [`ClientIpLayer`](super::ClientIpLayer).

use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use http::Request;
use tower::Service;

use super::proxy::{TrustedProxies, resolve};

/// The service made by [`ClientIpLayer`](super::ClientIpLayer): inserts the
/// [`Forwarded`](super::Forwarded) verdict, then calls the inner service.
#[derive(Debug, Clone)]
pub struct ClientIpService<S> {
    inner: S,
    trusted: TrustedProxies,
}

impl<S> ClientIpService<S> {
    pub(crate) fn new(inner: S, trusted: TrustedProxies) -> Self {
        Self { inner, trusted }
    }
}

impl<S, B> Service<Request<B>> for ClientIpService<S>
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
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if let Some(peer) = peer {
            let verdict = resolve(peer, request.headers(), &self.trusted);
            request.extensions_mut().insert(verdict);
        }
        self.inner.call(request)
    }
}
