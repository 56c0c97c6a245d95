//! JWS compact serialization (RFC 7515 §7.1), parsed strictly.
//!
//! We parse the header ourselves instead of using `jsonwebtoken::decode_header` because the
//! policy needs things that API does not give: duplicate member names are an error
//! (RFC 7515 §5.2 step 4 lets us reject them, RFC 8725 §3.1 says do), a `null` is never
//! "absent", `crit` must be honoured (RFC 7515 §4.1.11) and `alg` must be parsed before any
//! key is touched.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::{Algorithm, TokenError};

/// The three parts of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'t> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signing input.
    pub(crate) signing_input: &'t str,
    pub(crate) header_b64: &'t str,
    pub(crate) payload_b64: &'t str,
    pub(crate) signature_b64: &'t str,
}

impl<'t> Compact<'t> {
    /// Splits a token into its parts. Five parts is a JWE (RFC 7516 §7.1), refused as such.
    pub(crate) fn split(token: &'t str) -> Result<Self, TokenError> {
        let mut dots = token
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'.')
            .map(|(i, _)| i);
        let (Some(first), Some(second)) = (dots.next(), dots.next()) else {
            return Err(TokenError::Malformed);
        };
        match dots.count() {
            0 => {}
            2 => return Err(TokenError::Encrypted),
            _ => return Err(TokenError::Malformed),
        }
        let header_b64 = &token[..first];
        let payload_b64 = &token[first + 1..second];
        if header_b64.is_empty() || payload_b64.is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(Self {
            signing_input: &token[..second],
            header_b64,
            payload_b64,
            signature_b64: &token[second + 1..],
        })
    }
}

/// Strict base64url without padding; non-canonical trailing bits are refused
/// (the `base64` crate's default for this engine).
pub(crate) fn b64_decode(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)
}

/// The JOSE header members this crate acts on.
#[derive(Debug)]
pub(crate) struct Header<'h> {
    pub(crate) alg: Algorithm,
    pub(crate) typ: Option<Cow<'h, str>>,
    pub(crate) kid: Option<Cow<'h, str>>,
}

#[derive(Deserialize)]
struct RawHeader<'h> {
    #[serde(default, borrow, deserialize_with = "present")]
    alg: Option<Cow<'h, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    typ: Option<Cow<'h, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    kid: Option<Cow<'h, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: Option<de::IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    b64: Option<bool>,
    // jku, x5u, jwk, x5c, x5t: deliberately not read. Keys come only from the
    // validator's configured key set (RFC 8725 §3.10).
}

/// `Option<T>` where an explicit `null` is an error instead of `None`.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl<'h> Header<'h> {
    /// Parses decoded header JSON.
    pub(crate) fn parse(json: &'h [u8]) -> Result<Self, TokenError> {
        check_json_object(json)?;
        let raw: RawHeader<'h> = serde_json::from_slice(json).map_err(|_| TokenError::Malformed)?;
        // RFC 7515 §4.1.11: we implement no extension, so any `crit` is one we do not understand.
        if raw.crit.is_some() {
            return Err(TokenError::UnsupportedCritical);
        }
        // RFC 7797: an unencoded payload changes the signing input; we never accept it.
        if raw.b64 == Some(false) {
            return Err(TokenError::UnsupportedCritical);
        }
        let alg = raw
            .alg
            .as_deref()
            .and_then(Algorithm::from_name)
            .ok_or(TokenError::UnsupportedAlgorithm)?;
        Ok(Self {
            alg,
            typ: raw.typ,
            kid: raw.kid,
        })
    }
}

/// Checks that `json` is one JSON object with no repeated member name at any depth
/// (RFC 8725 §3.1 / RFC 7515 §5.2: two parsers disagreeing on which duplicate wins is a
/// classic JWT confusion).
pub(crate) fn check_json_object(json: &[u8]) -> Result<(), TokenError> {
    crate::json::check_object(json).map_err(|e| match e {
        crate::json::JsonError::DuplicateMember => TokenError::DuplicateMember,
        crate::json::JsonError::NotAnObject | crate::json::JsonError::Syntax => {
            TokenError::Malformed
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_counts_parts() {
        assert!(Compact::split("a.b.c").is_ok());
        assert!(Compact::split("a.b.").is_ok());
        assert_eq!(Compact::split("a.b").unwrap_err(), TokenError::Malformed);
        assert_eq!(
            Compact::split("a.b.c.d").unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(
            Compact::split("a.b.c.d.e").unwrap_err(),
            TokenError::Encrypted
        );
        assert_eq!(
            Compact::split("a.b.c.d.e.f").unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(Compact::split(".b.c").unwrap_err(), TokenError::Malformed);
        assert_eq!(Compact::split("a..c").unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn duplicate_members_are_found_at_any_depth() {
        let cases: &[(&str, Result<(), TokenError>)] = &[
            (r#"{"a":1,"b":2}"#, Ok(())),
            (r#"{"a":1,"a":2}"#, Err(TokenError::DuplicateMember)),
            (r#"{"a":{"x":1,"x":1}}"#, Err(TokenError::DuplicateMember)),
            (r#"{"a":[{"x":1,"x":1}]}"#, Err(TokenError::DuplicateMember)),
            (r#"{"a":1,"\u0061":2}"#, Err(TokenError::DuplicateMember)),
            (r#"[1,2]"#, Err(TokenError::Malformed)),
            (r#"{"a":1} x"#, Err(TokenError::Malformed)),
            (r#"{"a":1"#, Err(TokenError::Malformed)),
        ];
        for (json, want) in cases {
            assert_eq!(&check_json_object(json.as_bytes()), want, "{json}");
        }
    }

    #[test]
    fn header_rules() {
        let ok = Header::parse(br#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#).unwrap();
        assert_eq!(ok.alg, Algorithm::ES256);
        let cases: &[(&str, TokenError)] = &[
            (r#"{"alg":"none"}"#, TokenError::UnsupportedAlgorithm),
            (r#"{"alg":"NONE"}"#, TokenError::UnsupportedAlgorithm),
            (r#"{"typ":"JWT"}"#, TokenError::UnsupportedAlgorithm),
            (r#"{"alg":null}"#, TokenError::Malformed),
            (r#"{"alg":"HS256","kid":null}"#, TokenError::Malformed),
            (r#"{"alg":"HS256","kid":7}"#, TokenError::Malformed),
            (
                r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
                TokenError::UnsupportedCritical,
            ),
            (
                r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
                TokenError::UnsupportedCritical,
            ),
            (
                r#"{"alg":"HS256","alg":"none"}"#,
                TokenError::DuplicateMember,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(&Header::parse(json.as_bytes()).unwrap_err(), want, "{json}");
        }
    }
}
