//! Start-up configuration errors of the `https` module.

/// A setting of [`TrustedProxies`](super::TrustedProxies), [`Origin`](super::Origin) or
/// [`Hsts`](super::Hsts) that cannot be right. Returned at start-up, never per request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A trusted-proxy entry is neither a CIDR (`10.0.0.0/8`) nor an IP address.
    #[error("invalid trusted proxy {input:?}: expected a CIDR such as 10.0.0.0/8 or an IP address")]
    InvalidCidr {
        /// The entry as given.
        input: String,
    },
    /// A trusted-proxy CIDR has bits set after its prefix (`10.0.0.1/8`): it is unclear whether
    /// one host or the whole network was meant, so neither is assumed.
    #[error(
        "trusted proxy {input:?} has host bits set: write {suggestion} for the network, or the bare address for one host"
    )]
    HostBitsSet {
        /// The entry as given.
        input: String,
        /// The network the entry would cover.
        suggestion: String,
    },
    /// A trusted-proxy entry covers every address (`0.0.0.0/0`, `::/0`): every client could
    /// then choose its own address. List the proxies' own networks instead.
    #[error(
        "trusted proxy {input:?} covers every address: list only the networks of proxies you run"
    )]
    TrustsEveryone {
        /// The entry as given.
        input: String,
    },
    /// The public origin is not a bare `https://host[:port]` URL.
    #[error("invalid public origin {input:?}: {reason}")]
    InvalidOrigin {
        /// The URL as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// HSTS preload was asked for without what the preload list requires.
    #[error("HSTS preload requires {0}")]
    HstsPreload(&'static str),
}
