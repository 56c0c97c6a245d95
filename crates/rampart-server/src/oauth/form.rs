//! Strict `application/x-www-form-urlencoded` parameters (RFC 6749 §3.2, §3.1).

use std::collections::HashMap;

use http::{HeaderMap, header};

use super::error::OAuthError;

/// Request parameters: each at most once, empty values dropped ("empty values count as
/// missing", RFC 6749 §3.1), unknown ones kept but ignored by the handlers.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses the body after checking the media type.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(OAuthError::invalid_request("the body is not UTF-8"));
        };
        let mut params = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for pair in body.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(name), Some(value)) = (decode(name), decode(value)) else {
                return Err(OAuthError::invalid_request(
                    "a parameter is not UTF-8 once percent-decoded",
                ));
            };
            // RFC 6749 §3.1: parameters MUST NOT be included more than once.
            if !seen.insert(name.clone()) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter {} is repeated",
                    printable(&name)
                )));
            }
            if !value.is_empty() {
                params.insert(name, value);
            }
        }
        Ok(Self(params))
    }

    /// An optional parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is required")))
    }
}

/// One `application/x-www-form-urlencoded` name or value: `+` is a space, `%XX` a byte,
/// and the bytes must be UTF-8 (`None` otherwise). Pure.
///
/// Not `form_urlencoded::parse`: it replaces invalid UTF-8 with U+FFFD, so distinct
/// byte strings (`%FF` and `%C0`, or a literal U+FFFD) would decode to the same password.
pub fn decode(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Parameter names are echoed in descriptions; keep them short and printable.
fn printable(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_graphic)
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_component_decoding_table() {
        let cases = [
            ("plain", "abc", Some("abc")),
            ("plus is a space", "a+b", Some("a b")),
            ("an encoded plus", "a%2Bb", Some("a+b")),
            ("two-byte UTF-8", "%C3%A9", Some("é")),
            (
                "a literal U+FFFD stays itself",
                "%EF%BF%BD",
                Some("\u{FFFD}"),
            ),
            ("a lone 0xFF", "%FF", None),
            ("an overlong encoding", "%C0%AF", None),
            ("a truncated sequence", "%E2%82", None),
            ("a lone surrogate (CESU)", "%ED%A0%80", None),
            ("a bad escape is kept literally", "100%", Some("100%")),
        ];
        for (name, input, want) in cases {
            assert_eq!(decode(input).as_deref(), want, "{name}");
        }
    }

    fn form(body: &str) -> Result<Params, OAuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        Params::parse(&headers, body.as_bytes())
    }

    #[test]
    fn the_form_table() {
        let p = form("a=1&b=&c=x+y&&d").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None, "empty counts as missing");
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.get("d"), None);
        let refused = [
            ("a repeated name", "a=1&a=2"),
            ("a repeated name, once empty", "a=&a=2"),
            ("the same name spelled encoded", "a=1&%61=2"),
            ("invalid UTF-8 in a value", "password=%FF%C0"),
            ("invalid UTF-8 in a name", "%FF=1"),
        ];
        for (name, body) in refused {
            let e = form(body).unwrap_err();
            assert_eq!(e.code, "invalid_request", "{name}");
        }
    }
}
