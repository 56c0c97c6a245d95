//! [`ClientIpLayer`]: resolves the client once per request, before any handler runs.

use tower::Layer;

use super::proxy::TrustedProxies;
use super::service::ClientIpService;

/// A layer that runs [`resolve`](super::resolve) on every request and puts the resulting
/// [`Forwarded`](super::Forwarded) in the request extensions, where [`ClientIp`](super::ClientIp),
/// the `Forwarded` extractor and [`RequireHttpsLayer`](super::RequireHttpsLayer) find it.
///
/// The TCP peer is read from `ConnectInfo<SocketAddr>`, so serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`. A request without it passes
/// through untouched (and `ClientIp` then fails with a 500 naming the fix).
///
/// Put it outermost, so that every other layer sees the verdict.
///
/// ```
/// use axum::{Router, routing::get};
/// use rampart::https::{ClientIp, ClientIpLayer, TrustedProxies};
///
/// # fn main() -> Result<(), rampart::https::ConfigError> {
/// let app: Router = Router::new()
///     .route("/", get(|ClientIp(ip): ClientIp| async move { ip.to_string() }))
///     .layer(ClientIpLayer::new(TrustedProxies::new(["10.0.0.0/8"])?));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientIpLayer {
    trusted: TrustedProxies,
}

impl ClientIpLayer {
    /// A layer that believes forwarding headers only from `trusted` peers.
    pub fn new(trusted: TrustedProxies) -> Self {
        Self { trusted }
    }
}

impl<S> Layer<S> for ClientIpLayer {
    type Service = ClientIpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientIpService::new(inner, self.trusted.clone())
    }
}
