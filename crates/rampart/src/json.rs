//! Strict JSON: one object, no member name repeated at any depth.
//!
//! serde_json keeps the last of two members with the same name silently. Two parsers that
//! disagree on which duplicate wins are a classic confusion: a proxy or audit log reads
//! the first `"role"`, the service the second. The validator refuses duplicates in JOSE
//! headers and claims (RFC 8725 §3.1, RFC 7515 §5.2); [`check_object`] is the same check
//! for a service's own JSON request bodies (the token server runs it on every JSON
//! endpoint).
//!
//! Written here rather than taken from a crate: serde_json has no option to refuse
//! duplicates, and the walk below allocates only for member names with escapes.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why [`check_object`] refused a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Valid JSON, but not an object at the top level.
    #[error("the JSON document must be an object")]
    NotAnObject,
    /// Not one well-formed JSON document.
    #[error("the JSON document is not well formed")]
    Syntax,
    /// An object names a member twice.
    #[error("a JSON object names a member more than once")]
    DuplicateMember,
}

/// Checks that `json` is one JSON object with no repeated member name at any depth.
/// Member names are compared after unescaping (`"a"` and `"\u0061"` are the same name).
pub fn check_object(json: &[u8]) -> Result<(), JsonError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    match Unique::deserialize(&mut de).and_then(|u| de.end().map(|()| u)) {
        Ok(Unique { object: true }) => Ok(()),
        Ok(Unique { object: false }) => Err(JsonError::NotAnObject),
        Err(e) if e.to_string().starts_with(DUPLICATE) => Err(JsonError::DuplicateMember),
        Err(_) => Err(JsonError::Syntax),
    }
}

const DUPLICATE: &str = "rampart: duplicate member";

/// Walks any JSON value, failing on a repeated member name; records whether it was an
/// object.
struct Unique {
    object: bool,
}

impl<'de> de::Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

const SCALAR: Unique = Unique { object: false };

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(SCALAR)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(SCALAR)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if seen.contains(&key) {
                return Err(de::Error::custom(DUPLICATE));
            }
            seen.push(key);
            map.next_value::<Unique>()?;
        }
        Ok(Unique { object: true })
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strict_object_table() {
        let cases: &[(&str, &str, Result<(), JsonError>)] = &[
            ("distinct members", r#"{"a":1,"b":2}"#, Ok(())),
            ("empty object", " {} ", Ok(())),
            (
                "same name twice",
                r#"{"a":1,"a":2}"#,
                Err(JsonError::DuplicateMember),
            ),
            (
                "twice with equal values",
                r#"{"a":1,"a":1}"#,
                Err(JsonError::DuplicateMember),
            ),
            (
                "nested",
                r#"{"a":{"x":1,"x":1}}"#,
                Err(JsonError::DuplicateMember),
            ),
            (
                "inside an array",
                r#"{"a":[{"x":1,"x":1}]}"#,
                Err(JsonError::DuplicateMember),
            ),
            (
                "escaped spelling",
                r#"{"a":1,"\u0061":2}"#,
                Err(JsonError::DuplicateMember),
            ),
            (
                "same name in sibling objects",
                r#"{"a":{"x":1},"b":{"x":1}}"#,
                Ok(()),
            ),
            ("an array", "[1,2]", Err(JsonError::NotAnObject)),
            ("a string", r#""{}""#, Err(JsonError::NotAnObject)),
            ("trailing data", r#"{"a":1} x"#, Err(JsonError::Syntax)),
            ("unterminated", r#"{"a":1"#, Err(JsonError::Syntax)),
            ("empty", "", Err(JsonError::Syntax)),
        ];
        for (name, json, want) in cases {
            assert_eq!(&check_object(json.as_bytes()), want, "{name}");
        }
    }
}
