//! The standard claims every validated token exposes.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::jose::present;

/// Registered (RFC 7519 §4.1) and access-token (RFC 9068 §2.2) claims, plus `roles`.
///
/// Under the default [`Profile::AccessToken`](crate::Profile::AccessToken) a validated
/// token always has `iss`, `sub`, `aud` (non-empty), `exp`, `iat`, `jti` and
/// `client_id`; under [`Profile::PlainJwt`](crate::Profile::PlainJwt) only `exp` is
/// certain (and `iss`/`aud` when the validator compares them).
///
/// Parsed strictly: a claim of the wrong JSON type (a string `exp`, a boolean `iss`, a
/// `null`, an array where a string belongs) makes the token invalid; it is never treated
/// as absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// Issuer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub iss: Option<String>,
    /// Subject: the user id, or the client id for `client_credentials` tokens.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub sub: Option<String>,
    /// Audience(s); a single string on the wire is read as a one-element list.
    #[serde(default, skip_serializing_if = "Audience::is_empty")]
    pub aud: Audience,
    /// Expiry, seconds since the epoch. Always present in a validated token.
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    pub nbf: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numeric_date"
    )]
    pub iat: Option<i64>,
    /// Token id (used for revocation).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub jti: Option<String>,
    /// The OAuth client the token was issued to (RFC 9068 §2.2).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub client_id: Option<String>,
    /// The session the token belongs to (OpenID Connect `sid`): for the Rampart token
    /// server, the refresh-token family of the login it came from.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub sid: Option<String>,
    /// Space-separated granted scopes (RFC 9068 §2.2.3, RFC 6749 §3.3).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub scope: Option<String>,
    /// Role names (an array of strings).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "string_list"
    )]
    pub roles: Vec<String>,
}

impl Claims {
    /// The granted scopes, split on spaces (RFC 6749 §3.3).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// True when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// True when the `roles` claim contains `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The `aud` claim: one or more audience strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// True when no audience is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// True when one of the values equals `aud` exactly.
    pub fn contains(&self, aud: &str) -> bool {
        self.0.iter().any(|a| a == aud)
    }
    /// The values.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Audience, A::Error> {
                StringList.visit_seq(seq).map(Audience)
            }
        }
        d.deserialize_any(V)
    }
}

struct StringList;

impl<'de> Visitor<'de> for StringList {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
        while let Some(s) = seq.next_element::<String>()? {
            out.push(s);
        }
        Ok(out)
    }
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_seq(StringList)
}

/// NumericDate (RFC 7519 §2): a JSON number, possibly fractional. Fractions are
/// truncated toward the past, which is the strict direction for `exp` and harmless for
/// `nbf`/`iat` given the leeway. Strings, booleans, `null` and out-of-range values fail.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    // 9999-12-31: anything later is a forged "never expires" value, not a date.
    const MAX: i64 = 253_402_300_799;
    impl Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            if (0..=MAX).contains(&v) {
                Ok(v)
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v)
                .map_err(|_| E::custom("NumericDate out of range"))
                .and_then(|v| self.visit_i64(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v.is_finite() && (0.0..=MAX as f64).contains(&v) {
                #[allow(clippy::cast_possible_truncation)]
                Ok(v.floor() as i64)
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
    }
    d.deserialize_any(V).map(Some)
}

/// Names the registered claim that made `payload` fail to parse as [`Claims`].
///
/// Only runs on the failure path: serde's messages do not name the field, so we re-parse
/// each registered claim alone. The result is a static name, never attacker text.
pub(crate) fn diagnose(payload: &[u8]) -> super::TokenError {
    const NAMES: [&str; 11] = [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "client_id",
        "sid",
        "scope",
        "roles",
    ];
    let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(payload)
    else {
        return super::TokenError::Malformed;
    };
    for name in NAMES {
        if let Some(value) = map.get(name) {
            let mut one = serde_json::Map::new();
            one.insert(name.to_owned(), value.clone());
            if serde_json::from_value::<Claims>(serde_json::Value::Object(one)).is_err() {
                return super::TokenError::InvalidClaim(name);
            }
        }
    }
    super::TokenError::Malformed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Claims, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn well_typed_claims_parse() {
        let c = parse(
            r#"{"iss":"i","aud":["a","b"],"exp":10,"nbf":1.9,"scope":"x y","roles":["admin"]}"#,
        )
        .unwrap();
        assert_eq!(c.exp, Some(10));
        assert_eq!(c.nbf, Some(1));
        assert!(c.aud.contains("b"));
        assert!(c.has_scope("y") && !c.has_scope("x y"));
        assert!(c.has_role("admin"));
        assert_eq!(
            parse(r#"{"aud":"a"}"#).unwrap().aud,
            Audience(vec!["a".into()])
        );
    }

    #[test]
    fn malformed_claim_types_are_errors_not_absent() {
        for json in [
            r#"{"exp":"10"}"#,
            r#"{"exp":true}"#,
            r#"{"exp":null}"#,
            r#"{"exp":[10]}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":1e300}"#,
            r#"{"nbf":"0"}"#,
            r#"{"iat":{}}"#,
            r#"{"iss":null}"#,
            r#"{"iss":1}"#,
            r#"{"aud":null}"#,
            r#"{"aud":1}"#,
            r#"{"aud":[1]}"#,
            r#"{"aud":["a",null]}"#,
            r#"{"scope":["a"]}"#,
            r#"{"roles":"admin"}"#,
            r#"{"roles":[null]}"#,
            r#"{"sub":false}"#,
            r#"{"jti":3}"#,
        ] {
            assert!(parse(json).is_err(), "{json} must be refused");
        }
    }
}
