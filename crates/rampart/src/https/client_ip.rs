//! The [`ClientIp`] and [`Forwarded`] extractors.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::proxy::Forwarded;

/// The client's IP address, as decided by [`resolve`](super::resolve).
///
/// This is the one address audit logs and rate limits must use: never read
/// `X-Forwarded-For` or `ConnectInfo` yourself. It comes from the [`Forwarded`] that
/// [`ClientIpLayer`](super::ClientIpLayer) put in the request extensions; without the
/// layer it falls back to the TCP peer from [`ConnectInfo<SocketAddr>`] (correct when no
/// proxy is in front). With neither, extraction fails with a 500 [`ClientIpRejection`].
///
/// ```
/// use rampart::https::ClientIp;
///
/// async fn handler(ClientIp(ip): ClientIp) -> String {
///     format!("hello {ip}")
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Neither [`ClientIpLayer`](super::ClientIpLayer) nor `ConnectInfo<SocketAddr>` is on
/// the request: the application is wired wrongly. Renders as a 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the client address is unknown: add rampart::https::ClientIpLayer, and serve the app with \
     into_make_service_with_connect_info::<SocketAddr>()"
)]
#[non_exhaustive]
pub struct ClientIpRejection;

impl IntoResponse for ClientIpRejection {
    fn into_response(self) -> Response {
        // A wiring bug, not a client error; the message names the fix, like axum's own
        // missing-extension rejections.
        tracing::error!("{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// The layer's verdict, or the TCP peer with no proto when the layer is absent.
fn forwarded(parts: &Parts) -> Result<Forwarded, ClientIpRejection> {
    if let Some(forwarded) = parts.extensions.get::<Forwarded>() {
        return Ok(*forwarded);
    }
    let ConnectInfo(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .ok_or(ClientIpRejection)?;
    Ok(Forwarded {
        client_ip: peer.ip().to_canonical(),
        proto: None,
    })
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        forwarded(parts).map(|f| ClientIp(f.client_ip))
    }
}

/// The whole verdict: client address and forwarded scheme. Same sources and fallback as
/// [`ClientIp`] (without the layer, `proto` is `None`).
impl<S: Send + Sync> FromRequestParts<S> for Forwarded {
    type Rejection = ClientIpRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        forwarded(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::https::Scheme;

    fn parts() -> Parts {
        http::Request::new(()).into_parts().0
    }

    #[tokio::test]
    async fn the_layer_verdict_wins_over_the_peer() {
        let mut p = parts();
        let peer: SocketAddr = "10.0.0.1:1234".parse().expect("test addr");
        let verdict = Forwarded {
            client_ip: "198.51.100.4".parse().expect("test ip"),
            proto: Some(Scheme::Https),
        };
        p.extensions.insert(ConnectInfo(peer));
        p.extensions.insert(verdict);
        let ip = ClientIp::from_request_parts(&mut p, &()).await;
        assert_eq!(ip, Ok(ClientIp(verdict.client_ip)));
    }

    #[tokio::test]
    async fn without_the_layer_the_peer_is_the_client() {
        let mut p = parts();
        let peer: SocketAddr = "[::ffff:192.0.2.1]:1234".parse().expect("test addr");
        p.extensions.insert(ConnectInfo(peer));
        let f = Forwarded::from_request_parts(&mut p, &()).await;
        let want = Forwarded {
            client_ip: "192.0.2.1".parse().expect("test ip"),
            proto: None,
        };
        assert_eq!(f, Ok(want));
    }

    #[tokio::test]
    async fn with_neither_it_is_a_500_that_names_the_fix() {
        let rejection = ClientIp::from_request_parts(&mut parts(), &())
            .await
            .expect_err("nothing to go on");
        assert!(rejection.to_string().contains("ClientIpLayer"));
        assert!(
            rejection
                .to_string()
                .contains("into_make_service_with_connect_info")
        );
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
