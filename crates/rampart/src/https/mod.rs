#![doc = include_str!("https.md")]

mod client_ip;
mod error;
mod forwarded;
mod headers;
mod layer;
mod origin;
mod proxy;
mod redirect;
mod require_https;
mod service;

pub use client_ip::{ClientIp, ClientIpRejection};
pub use error::ConfigError;
pub use headers::{Hsts, SecurityHeaders, SecurityHeadersLayer};
pub use layer::ClientIpLayer;
pub use origin::Origin;
pub use proxy::{Forwarded, ForwardingHeaders, Scheme, TrustedProxies, resolve};
pub use redirect::{Decision, Refusal, https_redirect_router, redirect_decision};
pub use require_https::{RequireHttpsLayer, RequireHttpsService};
pub use service::ClientIpService;
