//! Parsing of `Forwarded` (RFC 7239) and `X-Forwarded-For` / `X-Forwarded-Proto` into an
//! ordered list of hops. Pure and panic-free: whatever cannot be read becomes
//! [`Hop::Opaque`], which stops the walk in [`resolve`](super::resolve).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::HeaderValue;

use super::proxy::Scheme;

/// One entry of a forwarding list, as far as the right-to-left walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hop {
    /// A usable address (IPv4-mapped IPv6 already folded to IPv4).
    Ip(IpAddr),
    /// `unknown`, an obfuscated `_name`, a missing `for=`, or anything unreadable.
    Opaque,
}

/// The hops of one forwarding header family, left (farthest) to right (nearest), and the
/// scheme written by the nearest proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chain {
    pub(crate) hops: Vec<Hop>,
    pub(crate) proto: Option<Scheme>,
}

/// `Forwarded` header lines, in order. Each line is parsed on its own and the elements are
/// concatenated: the same list as the comma-joined field (RFC 9110 §5.3), except that a
/// malformed line written by the client cannot swallow a line appended by a proxy.
pub(crate) fn parse_forwarded<'a>(lines: impl Iterator<Item = &'a HeaderValue>) -> Chain {
    let mut chain = Chain::default();
    for line in lines {
        for element in split_unquoted(line.as_bytes(), b',') {
            let element = element.map(trim_ows);
            match element {
                // RFC 9110 §5.6.1: empty list elements are ignored.
                Some([]) => {}
                Some(bytes) => {
                    let parsed = parse_element(bytes);
                    chain.hops.push(parsed.map_or(Hop::Opaque, |e| e.hop));
                    chain.proto = parsed.and_then(|e| e.proto);
                }
                None => {
                    chain.hops.push(Hop::Opaque);
                    chain.proto = None;
                }
            }
        }
    }
    chain
}

/// `X-Forwarded-For` lines and `X-Forwarded-Proto` lines (de-facto standard, no RFC).
/// The scheme is the last value of `X-Forwarded-Proto`: the one the nearest proxy wrote.
pub(crate) fn parse_x_forwarded<'a>(
    xff: impl Iterator<Item = &'a HeaderValue>,
    xfp: impl Iterator<Item = &'a HeaderValue>,
) -> Chain {
    let mut hops = Vec::new();
    for line in xff {
        for entry in line.as_bytes().split(|&b| b == b',').map(trim_ows) {
            if !entry.is_empty() {
                hops.push(std::str::from_utf8(entry).map_or(Hop::Opaque, parse_node));
            }
        }
    }
    let proto = xfp
        .flat_map(|line| line.as_bytes().split(|&b| b == b','))
        .map(trim_ows)
        .filter(|v| !v.is_empty())
        .last()
        .and_then(known_scheme);
    Chain { hops, proto }
}

/// What one `forwarded-element` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Element {
    hop: Hop,
    proto: Option<Scheme>,
}

// RFC 7239 §4:
//   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//   forwarded-pair    = token "=" value
//   value             = token / quoted-string
// `None` means malformed. Whitespace around pairs is tolerated (common in the wild).
fn parse_element(element: &[u8]) -> Option<Element> {
    let mut node: Option<Hop> = None;
    let mut proto: Option<Option<Scheme>> = None;
    for pair in split_unquoted(element, b';') {
        let pair = trim_ows(pair?);
        if pair.is_empty() {
            continue;
        }
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (name, value) = (&pair[..eq], &pair[eq + 1..]);
        if name.is_empty() || !name.iter().copied().all(is_tchar) {
            return None;
        }
        let value = parse_value(value)?;
        // Parameter names are case-insensitive (RFC 7239 §4), and each may occur only once
        // per element: a repeated one makes the element malformed.
        if name.eq_ignore_ascii_case(b"for") {
            if node.is_some() {
                return None;
            }
            node = Some(std::str::from_utf8(&value).map_or(Hop::Opaque, parse_node));
        } else if name.eq_ignore_ascii_case(b"proto") {
            // RFC 7239 §5.4: the value is a URI scheme name (RFC 3986 §3.1).
            let valid = value.first().is_some_and(u8::is_ascii_alphabetic)
                && value
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            if proto.is_some() || !valid {
                return None;
            }
            proto = Some(known_scheme(&value));
        }
        // `by`, `host` and extension parameters do not matter here.
    }
    Some(Element {
        // An element without `for=` names no client: treated like `for=unknown`.
        hop: node.unwrap_or(Hop::Opaque),
        proto: proto.flatten(),
    })
}

// RFC 7239 §6: node = nodename [ ":" node-port ], where nodename is an IPv4 address, a
// bracketed IPv6 address, "unknown" or an obfuscated "_name". A bare IPv6 address (seen in
// X-Forwarded-For) is accepted too; anything else is opaque.
fn parse_node(node: &str) -> Hop {
    let node = node.trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Hop::Ip(ip.to_canonical());
    }
    if let Some(rest) = node.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Hop::Opaque;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_node_port);
        return match v6.parse::<Ipv6Addr>() {
            Ok(ip) if port_ok => Hop::Ip(IpAddr::V6(ip).to_canonical()),
            _ => Hop::Opaque,
        };
    }
    match node.split_once(':') {
        Some((v4, port)) if is_node_port(port) => v4
            .parse::<Ipv4Addr>()
            .map_or(Hop::Opaque, |ip| Hop::Ip(IpAddr::V4(ip))),
        // `unknown`, `_obfuscated` and garbage all end up here.
        _ => Hop::Opaque,
    }
}

// RFC 7239 §6: node-port = port / obfport; port = 1*5DIGIT;
// obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-")
fn is_node_port(port: &str) -> bool {
    let digits = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let obfuscated = port.strip_prefix('_').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    digits || obfuscated
}

/// Only `http` and `https` mean something to the redirect; other schemes are ignored.
fn known_scheme(value: &[u8]) -> Option<Scheme> {
    if value.eq_ignore_ascii_case(b"https") {
        Some(Scheme::Https)
    } else if value.eq_ignore_ascii_case(b"http") {
        Some(Scheme::Http)
    } else {
        None
    }
}

/// A token, or a quoted-string with its escapes removed (RFC 9110 §5.6.2, §5.6.4).
fn parse_value(value: &[u8]) -> Option<Vec<u8>> {
    let Some(inner) = value.strip_prefix(b"\"") else {
        let token = !value.is_empty() && value.iter().copied().all(is_tchar);
        return token.then(|| value.to_vec());
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => out.push(bytes.next()?),
            // The closing quote must end the value.
            b'"' => return bytes.next().is_none().then_some(out),
            _ => out.push(b),
        }
    }
    None
}

/// Splits on `sep` outside quoted-strings. An unterminated quote yields `None` for the
/// rest of the input (so it cannot be mistaken for well-formed elements).
fn split_unquoted(input: &[u8], sep: u8) -> Vec<Option<&[u8]>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in input.iter().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == sep {
            parts.push(Some(&input[start..i]));
            start = i + 1;
        }
    }
    parts.push((!quoted).then(|| &input[start..]));
    parts
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

// RFC 9110 §5.6.2
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Hop {
        Hop::Ip(s.parse().expect("test addresses are valid"))
    }

    #[test]
    fn nodes_parse_per_rfc_7239_section_6() {
        let cases: &[(&str, &str, Hop)] = &[
            ("bare IPv4", "192.0.2.43", ip("192.0.2.43")),
            ("IPv4 with port", "192.0.2.43:4711", ip("192.0.2.43")),
            (
                "IPv4 with obfuscated port",
                "192.0.2.43:_abc",
                ip("192.0.2.43"),
            ),
            ("bracketed IPv6", "[2001:db8::1]", ip("2001:db8::1")),
            (
                "bracketed IPv6 with port",
                "[2001:db8::1]:4711",
                ip("2001:db8::1"),
            ),
            ("bare IPv6", "2001:db8::1", ip("2001:db8::1")),
            (
                "IPv4-mapped IPv6 folds to IPv4",
                "[::ffff:10.1.2.3]",
                ip("10.1.2.3"),
            ),
            ("unknown", "unknown", Hop::Opaque),
            ("obfuscated", "_hidden", Hop::Opaque),
            ("hostname", "example.com", Hop::Opaque),
            ("port too long", "192.0.2.43:123456", Hop::Opaque),
            ("empty port", "192.0.2.43:", Hop::Opaque),
            ("unclosed bracket", "[2001:db8::1", Hop::Opaque),
            ("junk after bracket", "[2001:db8::1]x", Hop::Opaque),
            ("IPv6 zone", "[fe80::1%eth0]", Hop::Opaque),
            ("empty", "", Hop::Opaque),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_node(input), *want, "case: {name}");
        }
    }

    #[test]
    fn values_are_tokens_or_quoted_strings() {
        /// (name, raw value, unquoted value or `None` for malformed)
        type ValueCase = (&'static str, &'static [u8], Option<&'static [u8]>);
        let cases: &[ValueCase] = &[
            ("token", b"abc", Some(b"abc")),
            ("quoted", b"\"[::1]:80\"", Some(b"[::1]:80")),
            ("escaped quote", b"\"a\\\"b\"", Some(b"a\"b")),
            ("empty quoted", b"\"\"", Some(b"")),
            ("empty token", b"", None),
            ("non-token char", b"[::1]", None),
            ("unterminated", b"\"abc", None),
            ("junk after quote", b"\"a\"b", None),
            ("dangling escape", b"\"a\\", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_value(input).as_deref(), *want, "case: {name}");
        }
    }

    #[test]
    fn elements_read_for_and_proto_case_insensitively() {
        let cases: &[(&str, &[u8], Option<Element>)] = &[
            (
                "for and proto",
                b"for=192.0.2.1;proto=https",
                Some(Element {
                    hop: ip("192.0.2.1"),
                    proto: Some(Scheme::Https),
                }),
            ),
            (
                "upper-case names and value",
                b"FOR=192.0.2.1;Proto=HTTP",
                Some(Element {
                    hop: ip("192.0.2.1"),
                    proto: Some(Scheme::Http),
                }),
            ),
            (
                "spaces around pairs and other parameters",
                b" by=_p ; for=\"[2001:db8::1]:4711\" ; host=x ",
                Some(Element {
                    hop: ip("2001:db8::1"),
                    proto: None,
                }),
            ),
            (
                "no for",
                b"proto=https",
                Some(Element {
                    hop: Hop::Opaque,
                    proto: Some(Scheme::Https),
                }),
            ),
            (
                "other scheme",
                b"for=192.0.2.1;proto=wss",
                Some(Element {
                    hop: ip("192.0.2.1"),
                    proto: None,
                }),
            ),
            ("repeated for", b"for=192.0.2.1;for=192.0.2.2", None),
            (
                "repeated proto",
                b"for=1.2.3.4;proto=http;proto=https",
                None,
            ),
            ("invalid scheme", b"for=1.2.3.4;proto=\"1http\"", None),
            ("no equals", b"for", None),
            ("empty name", b"=1.2.3.4", None),
            ("unquoted IPv6", b"for=[2001:db8::1]", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_element(input), *want, "case: {name}");
        }
    }

    #[test]
    fn an_unterminated_quote_poisons_only_the_rest_of_its_line() {
        let lines = [
            HeaderValue::from_static("for=192.0.2.1, for=\"oops"),
            HeaderValue::from_static("for=10.0.0.1;proto=https"),
        ];
        let chain = parse_forwarded(lines.iter());
        assert_eq!(
            chain.hops,
            vec![ip("192.0.2.1"), Hop::Opaque, ip("10.0.0.1")]
        );
        assert_eq!(chain.proto, Some(Scheme::Https));
    }

    #[test]
    fn x_forwarded_proto_takes_the_last_value() {
        let xfp = [
            HeaderValue::from_static("https"),
            HeaderValue::from_static("https, HTTP ,"),
        ];
        let chain = parse_x_forwarded(std::iter::empty(), xfp.iter());
        assert_eq!(chain.proto, Some(Scheme::Http));
        assert!(chain.hops.is_empty());
    }

    #[test]
    fn non_utf8_bytes_are_opaque_not_a_panic() {
        let raw = HeaderValue::from_bytes(b"\xff\xfe, 192.0.2.9").expect("obs-text is allowed");
        let chain = parse_x_forwarded(std::iter::once(&raw), std::iter::empty());
        assert_eq!(chain.hops, vec![Hop::Opaque, ip("192.0.2.9")]);
        let chain = parse_forwarded(std::iter::once(&raw));
        assert_eq!(chain.hops, vec![Hop::Opaque, Hop::Opaque]);
    }
}
