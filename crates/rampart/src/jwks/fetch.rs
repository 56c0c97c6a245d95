//! One JWKS fetch: GET, bounded body, `Cache-Control: max-age`, parse.

use std::sync::Arc;
use std::time::Duration;

use crate::token::{KeyError, KeySet};

/// Why a JWKS could not be fetched or used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The builder was misconfigured.
    #[error("{0}")]
    Config(String),
    /// The request failed (connect, TLS, timeout).
    #[error("JWKS request failed: {0}")]
    Transport(String),
    /// The endpoint answered with a non-success status.
    #[error("JWKS endpoint answered HTTP {0}")]
    Status(u16),
    /// The document exceeds the configured maximum size.
    #[error("JWKS document is too large")]
    TooLarge,
    /// The document is not a usable key set.
    #[error(transparent)]
    Invalid(#[from] KeyError),
    /// The fetch task did not finish (its runtime shut down, or it panicked).
    #[error("JWKS fetch was cancelled")]
    Cancelled,
    /// Used outside a Tokio runtime: no fetch can be made there.
    #[error("the JWKS client needs a Tokio runtime")]
    NoRuntime,
}

pub(super) async fn fetch(
    client: &reqwest::Client,
    url: &reqwest::Url,
    max_body: usize,
) -> Result<(Arc<KeySet>, Option<Duration>), JwksError> {
    let transport = |e: reqwest::Error| JwksError::Transport(without_url(&e));
    let mut response = client
        .get(url.clone())
        .header(
            http::header::ACCEPT,
            "application/jwk-set+json, application/json",
        )
        .send()
        .await
        .map_err(transport)?;
    if !response.status().is_success() {
        return Err(JwksError::Status(response.status().as_u16()));
    }
    let max_age = response
        .headers()
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(max_age);
    if response
        .content_length()
        .is_some_and(|len| len > max_body as u64)
    {
        return Err(JwksError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > max_body {
            return Err(JwksError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let keys = KeySet::from_jwks(&body)?;
    if keys.is_empty() {
        return Err(JwksError::Invalid(KeyError::Empty));
    }
    Ok((Arc::new(keys), max_age))
}

/// `max-age` from one `Cache-Control` value (RFC 9111 §5.2.2.1); `no-store`/`no-cache`
/// count as 0 (the refresh bounds then apply) wherever they appear in the list.
fn max_age(value: &str) -> Option<Duration> {
    let mut found = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if found.is_none()
            && let Some(secs) = lower.strip_prefix("max-age=")
        {
            found = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
}

/// What went wrong, with every cause reqwest wraps (TLS: "invalid peer certificate:
/// UnknownIssuer"; DNS; connection refused), but not reqwest's own message, which
/// repeats the URL the log line already names.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request error"
    };
    let mut text = kind.to_owned();
    let mut last = String::new();
    let mut cause = std::error::Error::source(e);
    while let Some(err) = cause {
        let message = err.to_string();
        // hyper and rustls often wrap an error in one that prints the same text.
        if message != last && !last.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        last = message;
        cause = err.source();
    }
    text
}

pub(super) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("MAX-AGE=5"), Some(Duration::from_secs(5)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
        assert_eq!(max_age("max-age=600, no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("no-cache, max-age=600"), Some(Duration::ZERO));
        assert_eq!(
            max_age("public, max-age=\"60\""),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("s-maxage=60"), None);
    }
}
