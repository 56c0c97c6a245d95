//! Redirect URIs: which may be registered, and which presented one matches a
//! registration. Pure functions, for the client registry and the authorization endpoint.
//!
//! - Matching is exact string comparison (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1), with one
//!   exception: a loopback redirect of a native app (`http://127.0.0.1:{port}/…` or
//!   `http://[::1]:{port}/…`) matches a registration that differs only in its port, since
//!   the app picks a free port at run time (RFC 8252 §7.3).
//! - A registration is an absolute URI without a fragment (RFC 6749 §3.1.2) or userinfo:
//!   `https`, `http` on a loopback IP literal only (RFC 8252 §8.3: not `localhost`,
//!   which a hostile resolver or another local listener could answer), or a private-use
//!   scheme in reverse-domain form such as `com.example.app:/callback` (RFC 8252 §7.1).

use url::{Host, Url};

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// Not an absolute URI.
    NotAbsolute,
    /// Has a `#fragment` (RFC 6749 §3.1.2).
    Fragment,
    /// Carries `user:password@`.
    Userinfo,
    /// Plain `http` to anything but a loopback IP literal.
    InsecureHttp,
    /// A scheme that is neither `https`, loopback `http`, nor reverse-domain private-use.
    Scheme,
    /// Over 2,000 bytes.
    TooLong,
}

impl RegisterError {
    /// The message for the admin API and the CLI.
    pub fn description(self) -> &'static str {
        match self {
            Self::NotAbsolute => "a redirect URI must be an absolute URI",
            Self::Fragment => "a redirect URI must not have a fragment",
            Self::Userinfo => "a redirect URI must not carry a user name or password",
            Self::InsecureHttp => {
                "http redirect URIs are allowed only on 127.0.0.1 or [::1] (use https)"
            }
            Self::Scheme => {
                "a redirect URI's scheme must be https, loopback http, or a reverse-domain private-use scheme (com.example.app)"
            }
            Self::TooLong => "a redirect URI is at most 2000 bytes",
        }
    }
}

/// Longest redirect URI accepted, registered or presented.
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;

/// Whether `uri` may be registered for a client.
pub fn check_registration(uri: &str) -> Result<(), RegisterError> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err(RegisterError::TooLong);
    }
    let parsed = Url::parse(uri).map_err(|_| RegisterError::NotAbsolute)?;
    // `Url` keeps even an empty fragment (`…/cb#`) as `Some("")`.
    if parsed.fragment().is_some() {
        return Err(RegisterError::Fragment);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RegisterError::Userinfo);
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_ip(&parsed) => Ok(()),
        "http" => Err(RegisterError::InsecureHttp),
        scheme if is_private_use(scheme) => Ok(()),
        _ => Err(RegisterError::Scheme),
    }
}

/// The registration `presented` matches, if any: the same string, or for a loopback
/// `http` redirect the same URI but for the port.
pub fn find_match<'r>(registered: &'r [String], presented: &str) -> Option<&'r str> {
    if presented.len() > MAX_REDIRECT_URI_BYTES {
        return None;
    }
    if let Some(exact) = registered.iter().find(|r| r.as_str() == presented) {
        return Some(exact);
    }
    let presented = loopback_parts(presented)?;
    registered
        .iter()
        .find(|r| loopback_parts(r).is_some_and(|parts| parts == presented))
        .map(String::as_str)
}

/// A loopback `http` URI without its port: host, path and query as written. `None` for
/// anything else (or with a fragment or userinfo, which never match).
fn loopback_parts(uri: &str) -> Option<(String, String, Option<String>)> {
    let parsed = Url::parse(uri).ok()?;
    if parsed.scheme() != "http"
        || !is_loopback_ip(&parsed)
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    Some((
        parsed.host_str()?.to_owned(),
        parsed.path().to_owned(),
        parsed.query().map(str::to_owned),
    ))
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

/// RFC 8252 §7.1: a private-use scheme is a reverse domain name (it has a dot); a
/// single-word scheme (`myapp:`) could be claimed by any app.
fn is_private_use(scheme: &str) -> bool {
    scheme.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_table() {
        let long = format!("https://app.example/{}", "a".repeat(2000));
        let cases: &[(&str, &str, Result<(), RegisterError>)] = &[
            ("https", "https://app.example/callback", Ok(())),
            (
                "https with port and query",
                "https://app.example:8443/cb?x=1",
                Ok(()),
            ),
            ("loopback IPv4", "http://127.0.0.1/callback", Ok(())),
            (
                "loopback IPv4 with port",
                "http://127.0.0.1:51000/callback",
                Ok(()),
            ),
            ("loopback IPv6", "http://[::1]/callback", Ok(())),
            (
                "private-use scheme",
                "com.example.app:/oauth2redirect",
                Ok(()),
            ),
            (
                "localhost is not a loopback literal",
                "http://localhost/cb",
                Err(RegisterError::InsecureHttp),
            ),
            (
                "other 127/8 address",
                "http://127.0.0.2/cb",
                Err(RegisterError::InsecureHttp),
            ),
            (
                "plain http",
                "http://app.example/cb",
                Err(RegisterError::InsecureHttp),
            ),
            (
                "fragment",
                "https://app.example/cb#x",
                Err(RegisterError::Fragment),
            ),
            (
                "empty fragment",
                "https://app.example/cb#",
                Err(RegisterError::Fragment),
            ),
            (
                "userinfo",
                "https://user:pw@app.example/cb",
                Err(RegisterError::Userinfo),
            ),
            ("relative", "/callback", Err(RegisterError::NotAbsolute)),
            ("empty", "", Err(RegisterError::NotAbsolute)),
            (
                "single-word scheme",
                "myapp:/cb",
                Err(RegisterError::Scheme),
            ),
            (
                "javascript",
                "javascript:alert(1)",
                Err(RegisterError::Scheme),
            ),
            ("data", "data:text/html,hi", Err(RegisterError::Scheme)),
            ("too long", long.as_str(), Err(RegisterError::TooLong)),
        ];
        for (name, uri, want) in cases {
            assert_eq!(&check_registration(uri), want, "{name}");
        }
    }

    #[test]
    fn match_table() {
        let registered: Vec<String> = [
            "https://app.example/callback",
            "http://127.0.0.1/native",
            "http://[::1]:8000/v6?client=1",
            "com.example.app:/oauth2redirect",
        ]
        .map(str::to_owned)
        .to_vec();
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "exact https",
                "https://app.example/callback",
                Some("https://app.example/callback"),
            ),
            (
                "exact private-use",
                "com.example.app:/oauth2redirect",
                Some("com.example.app:/oauth2redirect"),
            ),
            (
                "loopback, any port",
                "http://127.0.0.1:49152/native",
                Some("http://127.0.0.1/native"),
            ),
            (
                "loopback, no port",
                "http://127.0.0.1/native",
                Some("http://127.0.0.1/native"),
            ),
            (
                "loopback IPv6, other port",
                "http://[::1]:9/v6?client=1",
                Some("http://[::1]:8000/v6?client=1"),
            ),
            ("trailing slash", "https://app.example/callback/", None),
            (
                "extra query",
                "https://app.example/callback?next=/admin",
                None,
            ),
            ("case of the host", "https://APP.example/callback", None),
            ("https port added", "https://app.example:443/callback", None),
            ("subdomain", "https://evil.app.example/callback", None),
            ("prefix", "https://app.example/callback.evil", None),
            ("fragment", "https://app.example/callback#x", None),
            ("loopback, other path", "http://127.0.0.1:49152/other", None),
            (
                "loopback, path prefix",
                "http://127.0.0.1:49152/native/x",
                None,
            ),
            ("loopback, other query", "http://[::1]:9/v6?client=2", None),
            (
                "loopback, fragment",
                "http://127.0.0.1:49152/native#x",
                None,
            ),
            (
                "loopback, userinfo",
                "http://u@127.0.0.1:49152/native",
                None,
            ),
            (
                "localhost for loopback",
                "http://localhost:49152/native",
                None,
            ),
            (
                "IPv4 for an IPv6 registration",
                "http://127.0.0.1:9/v6?client=1",
                None,
            ),
            (
                "https on the loopback registration",
                "https://127.0.0.1:49152/native",
                None,
            ),
            ("empty", "", None),
        ];
        for (name, presented, want) in cases {
            assert_eq!(find_match(&registered, presented), *want, "{name}");
        }
    }
}
