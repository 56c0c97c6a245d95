//! [`Origin`]: the configured public `scheme://host[:port]` that redirects point to.

use std::str::FromStr;
use std::sync::Arc;

use super::ConfigError;
use super::proxy::Scheme;

/// The public origin of the service, e.g. `https://auth.example.com` — the only place a
/// redirect may point to. Built from configuration, never from a request's `Host` header.
///
/// ```
/// use rampart::https::Origin;
///
/// let origin: Origin = "https://auth.example.com:8443/".parse()?;
/// assert_eq!(origin.as_str(), "https://auth.example.com:8443");
/// assert!(Origin::parse("http://auth.example.com").is_err());
/// assert!(Origin::parse("https://auth.example.com/login").is_err());
/// # Ok::<(), rampart::https::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `scheme://host[:port]`: ASCII (IDNA applied), default port omitted, no trailing `/`.
    serialized: Arc<str>,
    scheme: Scheme,
}

impl Origin {
    /// Parses an `https://host[:port]` URL. A trailing `/` is accepted; a path, query,
    /// fragment or user info is refused.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        Self::parse_with(url, false)
    }

    /// Like [`parse`](Self::parse) but also accepts `http://`. Redirecting to plain HTTP
    /// defeats the purpose of the redirect: use this only for local development and tests.
    pub fn insecure_http(url: &str) -> Result<Self, ConfigError> {
        Self::parse_with(url, true)
    }

    /// The serialized origin, e.g. `https://auth.example.com:8443`, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.serialized
    }

    /// The origin's scheme: [`Scheme::Https`] unless built by
    /// [`insecure_http`](Self::insecure_http).
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn parse_with(input: &str, allow_http: bool) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidOrigin {
            input: input.to_owned(),
            reason,
        };
        let url = url::Url::parse(input.trim()).map_err(|_| invalid("not an absolute URL"))?;
        let scheme = match url.scheme() {
            "https" => Scheme::Https,
            "http" if allow_http => Scheme::Http,
            "http" => {
                return Err(invalid("the scheme must be https (see insecure_http)"));
            }
            _ => return Err(invalid("the scheme must be https")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("user info is not allowed"));
        }
        if url.host().is_none() {
            return Err(invalid("a host is required"));
        }
        if url.path() != "/" {
            return Err(invalid("a path is not allowed (a trailing / is fine)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a query or fragment is not allowed"));
        }
        // RFC 6454 §6.2: the ASCII serialization of a tuple origin.
        let serialized = url.origin().ascii_serialization();
        Ok(Self {
            serialized: serialized.into(),
            scheme,
        })
    }
}

impl FromStr for Origin {
    type Err = ConfigError;

    /// Same as [`Origin::parse`]: `https` only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.serialized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_origins_are_accepted() {
        let cases: &[(&str, &str, bool, Option<&str>)] = &[
            (
                "https host",
                "https://example.com",
                false,
                Some("https://example.com"),
            ),
            (
                "trailing slash",
                "https://example.com/",
                false,
                Some("https://example.com"),
            ),
            (
                "explicit port",
                "https://example.com:8443",
                false,
                Some("https://example.com:8443"),
            ),
            (
                "default port dropped",
                "https://example.com:443/",
                false,
                Some("https://example.com"),
            ),
            (
                "upper-case host lowered",
                "https://EXAMPLE.com",
                false,
                Some("https://example.com"),
            ),
            (
                "IDN to punycode",
                "https://bücher.example",
                false,
                Some("https://xn--bcher-kva.example"),
            ),
            (
                "IPv6 host",
                "https://[::1]:8443",
                false,
                Some("https://[::1]:8443"),
            ),
            ("http refused", "http://example.com", false, None),
            (
                "http allowed when insecure",
                "http://localhost:8080",
                true,
                Some("http://localhost:8080"),
            ),
            ("other scheme", "ftp://example.com", true, None),
            ("path", "https://example.com/app", false, None),
            ("query", "https://example.com/?a=b", false, None),
            ("empty query", "https://example.com?", false, None),
            ("fragment", "https://example.com#top", false, None),
            ("user info", "https://user:pw@example.com", false, None),
            ("relative", "example.com", false, None),
            ("empty", "", false, None),
        ];
        for (name, input, insecure, want) in cases {
            let got = if *insecure {
                Origin::insecure_http(input)
            } else {
                Origin::parse(input)
            };
            assert_eq!(got.ok().as_ref().map(Origin::as_str), *want, "case: {name}");
        }
    }

    #[test]
    fn the_error_says_what_is_wrong() {
        let err = Origin::parse("http://example.com").expect_err("http");
        assert!(err.to_string().contains("https"), "{err}");
        let err = Origin::parse("https://example.com/x").expect_err("path");
        assert!(err.to_string().contains("path"), "{err}");
    }
}
