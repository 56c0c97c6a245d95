//! Which reverse proxies are trusted, and the pure [`resolve`] that turns a TCP peer and
//! its forwarding headers into the real client address and scheme.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderMap;
use http::header::FORWARDED;
use ipnet::{IpNet, Ipv4Net};

use super::ConfigError;
use super::forwarded::{Chain, Hop, parse_forwarded, parse_x_forwarded};

/// The de-facto standard headers, which `http` has no constants for.
const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The scheme a client used to reach the outermost proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain `http`.
    Http,
    /// `https`.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`resolve`] concluded about a request. [`ClientIpLayer`](super::ClientIpLayer)
/// puts it in the request extensions; it is also an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Forwarded {
    /// The client's address: the TCP peer, or the first untrusted hop of the forwarding
    /// chain when the peer is a trusted proxy.
    pub client_ip: IpAddr,
    /// The scheme reported by the nearest trusted proxy; `None` when the peer is not a
    /// trusted proxy, or the proxy did not say.
    pub proto: Option<Scheme>,
}

/// Which forwarding headers a trusted proxy writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardingHeaders {
    /// RFC 7239 `Forwarded` when the request has one, `X-Forwarded-For` and
    /// `X-Forwarded-Proto` otherwise. A proxy that only writes `X-Forwarded-*` must then
    /// delete any `Forwarded` header sent by the client, or pick
    /// [`XForwardedFor`](Self::XForwardedFor).
    #[default]
    Either,
    /// Only RFC 7239 `Forwarded`; `X-Forwarded-*` is ignored.
    Forwarded,
    /// Only `X-Forwarded-For` and `X-Forwarded-Proto`; `Forwarded` is ignored (nginx,
    /// HAProxy, most cloud load balancers).
    XForwardedFor,
}

/// The reverse proxies whose forwarding headers are believed: a list of networks.
///
/// Only list proxies you run. Every address in these networks can make the server believe
/// any client address it likes.
///
/// ```
/// use rampart::https::{ForwardingHeaders, TrustedProxies};
///
/// let trusted = TrustedProxies::new(["10.0.0.0/8", "127.0.0.1"])?
///     .headers(ForwardingHeaders::XForwardedFor);
/// assert!(trusted.contains("10.1.2.3".parse().unwrap()));
/// assert!(TrustedProxies::new(["10.0.0.1/8"]).is_err()); // host bits set: ambiguous
/// # Ok::<(), rampart::https::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Arc<[IpNet]>,
    headers: ForwardingHeaders,
}

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (`127.0.0.1`).
    ///
    /// A CIDR with bits set after its prefix (`10.0.0.1/8`) is refused, since it is unclear
    /// whether the host or the network was meant, and so is one that covers every address
    /// (`0.0.0.0/0`, `::/0`). IPv4-mapped IPv6 networks
    /// (`::ffff:10.0.0.0/104`) are stored as IPv4, like the addresses they are matched
    /// against.
    pub fn new<I, S>(cidrs: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nets = cidrs
            .into_iter()
            .map(|s| parse_net(s.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            nets,
            headers: ForwardingHeaders::default(),
        })
    }

    /// Trusts nobody: forwarding headers are always ignored and the client is the TCP peer.
    /// The right choice when the server faces the internet directly.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads only the given forwarding headers (default [`ForwardingHeaders::Either`]).
    #[must_use]
    pub fn headers(mut self, headers: ForwardingHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// Whether `ip` is in one of the trusted networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

fn parse_net(input: &str) -> Result<IpNet, ConfigError> {
    let trimmed = input.trim();
    let net = match trimmed.parse::<IpNet>() {
        Ok(net) if net.trunc() != net => {
            return Err(ConfigError::HostBitsSet {
                input: input.to_owned(),
                suggestion: net.trunc().to_string(),
            });
        }
        Ok(net) if net.prefix_len() == 0 => {
            return Err(ConfigError::TrustsEveryone {
                input: input.to_owned(),
            });
        }
        Ok(net) => net,
        Err(_) => match trimmed.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(ConfigError::InvalidCidr {
                    input: input.to_owned(),
                });
            }
        },
    };
    // Peers on a dual-stack socket show up as ::ffff:a.b.c.d and are folded to IPv4 before
    // matching, so a mapped network must be folded the same way to ever match.
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(folded) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return Ok(IpNet::V4(folded));
    }
    Ok(net)
}

/// Decides who the client is.
///
/// If the TCP `peer` is not a trusted proxy, every forwarding header is ignored: the client
/// is the peer and the scheme is unknown. Otherwise the forwarding list (RFC 7239
/// `Forwarded`, or `X-Forwarded-For`) is walked from right to left — nearest hop first —
/// skipping trusted proxies; the first untrusted address is the client. Entries left of it
/// were written by the client and are never believed. If every hop is trusted, the leftmost
/// is the client. An `unknown` or obfuscated identifier, an element without `for=`, or
/// anything unreadable stops the walk, and the client is the last trusted hop seen: the
/// request can then not be attributed further, and lumping it with its proxy is the choice
/// that cannot be spoofed.
///
/// The scheme is the one written by the nearest proxy: the `proto=` of the rightmost
/// `Forwarded` element, or the last `X-Forwarded-Proto` value.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Forwarded {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return Forwarded {
            client_ip: peer,
            proto: None,
        };
    }
    let rfc_7239 = || parse_forwarded(headers.get_all(FORWARDED).iter());
    let de_facto = || {
        parse_x_forwarded(
            headers.get_all(X_FORWARDED_FOR).iter(),
            headers.get_all(X_FORWARDED_PROTO).iter(),
        )
    };
    let chain: Chain = match trusted.headers {
        ForwardingHeaders::Either if headers.contains_key(FORWARDED) => rfc_7239(),
        ForwardingHeaders::Either | ForwardingHeaders::XForwardedFor => de_facto(),
        ForwardingHeaders::Forwarded => rfc_7239(),
    };
    Forwarded {
        client_ip: walk(peer, &chain.hops, trusted),
        proto: chain.proto,
    }
}

fn walk(peer: IpAddr, hops: &[Hop], trusted: &TrustedProxies) -> IpAddr {
    let mut last_trusted = peer;
    for hop in hops.iter().rev() {
        match *hop {
            Hop::Ip(ip) if trusted.contains(ip) => last_trusted = ip,
            Hop::Ip(ip) => return ip,
            Hop::Opaque => break,
        }
    }
    last_trusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    struct Case {
        name: &'static str,
        peer: &'static str,
        headers: &'static [(&'static str, &'static str)],
        client: &'static str,
        proto: Option<Scheme>,
    }

    const TRUSTED: [&str; 3] = ["10.0.0.0/8", "127.0.0.1/32", "2001:db8:ffff::/48"];

    fn case(
        name: &'static str,
        peer: &'static str,
        headers: &'static [(&'static str, &'static str)],
        client: &'static str,
        proto: Option<Scheme>,
    ) -> Case {
        Case {
            name,
            peer,
            headers,
            client,
            proto,
        }
    }

    fn run(cases: &[Case], trusted: &TrustedProxies) {
        for c in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in c.headers {
                let value = HeaderValue::from_bytes(value.as_bytes()).expect("test header");
                headers.append(*name, value);
            }
            let peer = c.peer.parse().expect("test peer");
            let got = resolve(peer, &headers, trusted);
            let want = Forwarded {
                client_ip: c.client.parse().expect("test client"),
                proto: c.proto,
            };
            assert_eq!(got, want, "case: {}", c.name);
        }
    }

    #[test]
    fn resolve_walks_the_chain_right_to_left_through_trusted_proxies_only() {
        use Scheme::{Http, Https};
        let trusted = TrustedProxies::new(TRUSTED).expect("valid CIDRs");
        #[rustfmt::skip]
        let cases = [
            case("untrusted peer with spoofed XFF is ignored", "203.0.113.7",
                &[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-proto", "https")], "203.0.113.7", None),
            case("untrusted peer with spoofed Forwarded is ignored", "203.0.113.7",
                &[("forwarded", "for=1.1.1.1;proto=https")], "203.0.113.7", None),
            case("trusted peer without headers is the client", "10.0.0.1", &[], "10.0.0.1", None),
            case("trusted single proxy", "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4")], "198.51.100.4", None),
            case("chain of two trusted proxies", "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4, 10.0.0.2")], "198.51.100.4", None),
            case("spoofed entries left of the client are skipped", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, 10.9.9.9, 198.51.100.4, 10.0.0.2")], "198.51.100.4", None),
            case("a spoofed trusted-looking entry does not help", "10.0.0.1",
                &[("x-forwarded-for", "10.5.5.5, 198.51.100.4")], "198.51.100.4", None),
            case("all hops trusted gives the leftmost", "10.0.0.1",
                &[("x-forwarded-for", "10.0.0.3, 127.0.0.1, 10.0.0.2")], "10.0.0.3", None),
            case("IPv6 in XFF", "10.0.0.1",
                &[("x-forwarded-for", "2001:db8::1")], "2001:db8::1", None),
            case("bracketed IPv6 with port in XFF", "10.0.0.1",
                &[("x-forwarded-for", "[2001:db8::1]:4711")], "2001:db8::1", None),
            case("IPv4 with port in XFF", "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4:51234")], "198.51.100.4", None),
            case("trusted IPv6 proxy", "2001:db8:ffff::2",
                &[("x-forwarded-for", "2001:db8::1")], "2001:db8::1", None),
            case("IPv4-mapped peer matches an IPv4 CIDR", "::ffff:10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4")], "198.51.100.4", None),
            case("Forwarded wins over XFF", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-proto", "http"),
                  ("forwarded", "for=198.51.100.4;proto=https")], "198.51.100.4", Some(Https)),
            case("Forwarded quoted IPv6 with port", "10.0.0.1",
                &[("forwarded", "for=\"[2001:db8::1]:4711\"")], "2001:db8::1", None),
            case("Forwarded quoted IPv4 with port", "10.0.0.1",
                &[("forwarded", "for=\"198.51.100.4:80\"")], "198.51.100.4", None),
            case("Forwarded comma-separated elements", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1, for=198.51.100.4;proto=http, for=10.0.0.2;proto=https")],
                "198.51.100.4", Some(Https)),
            case("Forwarded multiple header lines concatenate in order", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1"), ("forwarded", "for=198.51.100.4"),
                  ("forwarded", "for=10.0.0.2;proto=http")], "198.51.100.4", Some(Http)),
            case("XFF multiple header lines concatenate in order", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, 198.51.100.4"), ("x-forwarded-for", "10.0.0.2")],
                "198.51.100.4", None),
            case("parameter names are case-insensitive", "10.0.0.1",
                &[("forwarded", "For=198.51.100.4;PROTO=HTTPS")], "198.51.100.4", Some(Https)),
            case("for=unknown stops at the last trusted hop", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1, for=unknown, for=10.0.0.2")], "10.0.0.2", None),
            case("obfuscated identifier stops the walk", "10.0.0.1",
                &[("forwarded", "for=_hidden")], "10.0.0.1", None),
            case("unknown in XFF stops the walk", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, unknown")], "10.0.0.1", None),
            case("garbage in XFF stops the walk", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, not-an-ip, 10.0.0.2")], "10.0.0.2", None),
            case("garbage Forwarded does not fall back to XFF", "10.0.0.1",
                &[("forwarded", "for=\"unterminated"), ("x-forwarded-for", "1.1.1.1")], "10.0.0.1", None),
            case("element without for= stops the walk but still gives proto", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1, proto=https")], "10.0.0.1", Some(Https)),
            case("unquoted IPv6 in Forwarded is malformed", "10.0.0.1",
                &[("forwarded", "for=[2001:db8::1]")], "10.0.0.1", None),
            case("empty list elements are ignored", "10.0.0.1",
                &[("x-forwarded-for", " , 198.51.100.4 ,, ")], "198.51.100.4", None),
            case("XFF proto https", "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4"), ("x-forwarded-proto", "https")], "198.51.100.4", Some(Https)),
            case("XFF proto http", "10.0.0.1",
                &[("x-forwarded-for", "198.51.100.4"), ("x-forwarded-proto", "http")], "198.51.100.4", Some(Http)),
            case("XFF proto from the nearest proxy", "10.0.0.1",
                &[("x-forwarded-proto", "https, http")], "10.0.0.1", Some(Http)),
            case("unknown proto is none", "10.0.0.1",
                &[("x-forwarded-proto", "gopher")], "10.0.0.1", None),
            case("proto of a spoofed left element is not used", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1;proto=https, for=198.51.100.4")], "198.51.100.4", None),
        ];
        run(&cases, &trusted);
    }

    #[test]
    fn the_header_choice_is_honoured() {
        let xff_only = TrustedProxies::new(TRUSTED)
            .expect("valid CIDRs")
            .headers(ForwardingHeaders::XForwardedFor);
        #[rustfmt::skip]
        let cases = [
            case("XFF-only ignores a client-sent Forwarded", "10.0.0.1",
                &[("forwarded", "for=1.1.1.1;proto=https"), ("x-forwarded-for", "198.51.100.4"),
                  ("x-forwarded-proto", "http")], "198.51.100.4", Some(Scheme::Http)),
        ];
        run(&cases, &xff_only);
        let rfc_only = TrustedProxies::new(TRUSTED)
            .expect("valid CIDRs")
            .headers(ForwardingHeaders::Forwarded);
        #[rustfmt::skip]
        let cases = [
            case("Forwarded-only ignores XFF", "10.0.0.1",
                &[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-proto", "https")], "10.0.0.1", None),
        ];
        run(&cases, &rfc_only);
    }

    #[test]
    fn nobody_is_trusted_by_none() {
        #[rustfmt::skip]
        let cases = [
            case("loopback peer is not trusted by none()", "127.0.0.1",
                &[("x-forwarded-for", "1.1.1.1")], "127.0.0.1", None),
        ];
        run(&cases, &TrustedProxies::none());
    }

    #[test]
    fn trusted_proxy_entries_are_checked() {
        let cases: &[(&str, &str, Result<&str, ()>)] = &[
            ("IPv4 CIDR", "10.0.0.0/8", Ok("10.0.0.0/8")),
            ("IPv6 CIDR", "2001:db8::/32", Ok("2001:db8::/32")),
            ("bare IPv4 is a host", "127.0.0.1", Ok("127.0.0.1/32")),
            ("bare IPv6 is a host", "::1", Ok("::1/128")),
            ("surrounding spaces", " 10.0.0.0/8 ", Ok("10.0.0.0/8")),
            (
                "mapped IPv6 folds to IPv4",
                "::ffff:10.0.0.0/104",
                Ok("10.0.0.0/8"),
            ),
            ("host bits set", "10.0.0.1/8", Err(())),
            ("every IPv4 address", "0.0.0.0/0", Err(())),
            ("every IPv6 address", "::/0", Err(())),
            ("prefix too long", "10.0.0.0/33", Err(())),
            ("hostname", "proxy.internal", Err(())),
            ("empty", "", Err(())),
        ];
        for (name, input, want) in cases {
            let got = parse_net(input).map(|n| n.to_string()).map_err(|_| ());
            assert_eq!(got, want.map(str::to_owned), "case: {name}");
        }
    }

    #[test]
    fn config_errors_name_the_bad_entry() {
        let err = TrustedProxies::new(["10.0.0.0/8", "10.0.0.1/8"]).expect_err("host bits");
        assert!(err.to_string().contains("10.0.0.0/8"), "{err}");
        let err = TrustedProxies::new(["nope"]).expect_err("not a CIDR");
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }
}
