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
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::invalid_request("the body is not UTF-8"));
        }
        let mut params = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for (name, value) in form_urlencoded::parse(body) {
            // RFC 6749 §3.1: parameters MUST NOT be included more than once.
            if !seen.insert(name.to_string()) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter {} is repeated",
                    printable(&name)
                )));
            }
            if !value.is_empty() {
                params.insert(name.into_owned(), value.into_owned());
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

/// Parameter names are echoed in descriptions; keep them short and printable.
fn printable(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_graphic)
        .take(40)
        .collect()
}
