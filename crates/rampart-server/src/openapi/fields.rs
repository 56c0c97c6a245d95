//! The constrained strings of the request bodies and parameters, as the document states
//! them. Each is the rule the server enforces (named below) where JSON Schema can say it
//! exactly, and otherwise the closest *sound* statement: a value the document accepts is
//! one the rule accepts, so a client that follows the document is never refused for it;
//! the server may accept a little more than the document says (its own wording of the
//! rule, in each description, is the full one).
//!
//! JSON Schema counts lengths in characters (code points) and its patterns are ECMA-262;
//! these use only character classes with `\xHH`/`\uHHHH` escapes, which read the same in
//! ECMA-262, Python's `re` (schemathesis) and Rust's `regex` (the tests below).

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::accounts::BUILT_IN_ROLES;

/// A username: 1–64 ASCII letters, digits and `. _ - @ +`. The server also accepts
/// letters and digits of any script and surrounding blanks: it compares usernames after
/// trimming, NFKC normalisation and lower-casing, and stores that form.
// Sound subset of `accounts::username::Username::parse`: NFKC and Unicode letters have no
// JSON Schema spelling, and an ASCII name is its own normal form once lower-cased.
#[derive(ToSchema)]
#[schema(as = Username, min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@+-]+$", example = "alice")]
pub struct UsernameText(pub String);

/// A new password: 8–1024 bytes of UTF-8, not a commonly used password, not the
/// username. The document states 8–256 characters, which fit in 1024 bytes whatever
/// they are; a longer password of narrower characters is accepted too.
// Sound subset of `accounts::passwords::check_new_password`: JSON Schema counts
// characters, the rule bytes (a character is 1–4 bytes: at least 8 characters are at least
// 8 bytes, at most 256 at most 1024). The list of common passwords is not restated here.
#[derive(ToSchema)]
#[schema(as = NewPassword, min_length = 8, max_length = 256, format = Password)]
pub struct NewPassword(pub String);

/// A role name: 1–64 printable ASCII characters without spaces, quotes or backslashes
/// (the RFC 6749 §3.3 scope-token syntax: role names travel in tokens).
// Exactly `accounts::check_name`.
#[derive(ToSchema)]
#[schema(as = RoleName, min_length = 1, max_length = 64, pattern = "^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$", example = "editor")]
pub struct RoleName(pub String);

/// A role that may be deleted: a role name other than the built-in ones.
pub struct DeletableRoleName;

impl PartialSchema for DeletableRoleName {
    // Exactly the name checks of `accounts::Accounts::delete_role` (whether the role
    // exists is the store's answer: 404).
    fn schema() -> RefOr<Schema> {
        let mut schema = RoleName::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.description = Some(format!(
                "A role name (see `RoleName`) other than the built-in roles {}, which cannot \
                 be deleted.",
                BUILT_IN_ROLES.join(" and ")
            ));
            object.example = None;
            // utoipa's `Object` has no `not`; its flattened extensions serialize the
            // keyword in place.
            object
                .extensions
                .get_or_insert_with(Default::default)
                .insert("not".to_owned(), json!({ "enum": BUILT_IN_ROLES }));
        }
        schema
    }
}

impl ToSchema for DeletableRoleName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DeletableRoleName")
    }
}

/// A scope name: RFC 6749 §3.3 `scope-token`, 1–128 printable ASCII characters without
/// spaces, quotes or backslashes.
// Exactly `accounts::scopes::is_scope_token`.
#[derive(ToSchema)]
#[schema(as = ScopeName, min_length = 1, max_length = 128, pattern = "^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$", example = "notes:read")]
pub struct ScopeName(pub String);

/// A description: at most 500 characters, none of them a control character.
// Exactly `accounts::check_description` (`char::is_control` is the Cc category:
// U+0000–U+001F and U+007F–U+009F).
#[derive(ToSchema)]
#[schema(as = Description, max_length = 500, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*$")]
pub struct Description(pub String);

/// A string of at most `bytes` bytes of UTF-8, as two branches: `ascii` (a pattern of
/// ASCII characters only) with `bytes` characters, or `any` (any script) with a quarter as
/// many, since a character is at most 4 bytes. Sound for a rule on the length in bytes,
/// which JSON Schema cannot state.
fn bounded_in_bytes(bytes: usize, ascii: &str, any: &str, description: &str) -> Schema {
    let branch = |max_length: usize, pattern: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(max_length))
            .pattern(Some(pattern))
            .build()
    };
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(branch(bytes, ascii))
            .item(branch(bytes / 4, any))
            .description(Some(description))
            .build(),
    )
}

/// A client's name.
pub struct ClientName;

impl PartialSchema for ClientName {
    // Sound subset of the name rule of `accounts::Accounts::create_client`: non-blank once
    // trimmed, at most 200 bytes, no control character.
    fn schema() -> RefOr<Schema> {
        // Any script: no control character (Cc), and one character that is neither that
        // nor Unicode White_Space (what `str::trim` removes).
        RefOr::T(bounded_in_bytes(
            200,
            "^[\\x20-\\x7E]*[\\x21-\\x7E][\\x20-\\x7E]*$",
            "^[^\\x00-\\x1F\\x7F-\\x9F]*\
             [^\\x00-\\x20\\x7F-\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]\
             [^\\x00-\\x1F\\x7F-\\x9F]*$",
            "A client's name: 1–200 bytes of UTF-8, not blank, no control character (stored \
             trimmed). The document states up to 200 ASCII characters, or up to 50 of any \
             script; a longer name that fits in 200 bytes is accepted too.",
        ))
    }
}

impl ToSchema for ClientName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ClientName")
    }
}

/// The `aud` of a client's tokens.
pub struct Audience;

impl PartialSchema for Audience {
    // Sound subset of the audience rule of `accounts::Accounts::create_client`: 1–512
    // bytes, no space, no control character.
    fn schema() -> RefOr<Schema> {
        RefOr::T(bounded_in_bytes(
            512,
            "^[\\x21-\\x7E]+$",
            "^[^\\x00-\\x20\\x7F-\\x9F]+$",
            "The `aud` of the client's tokens (default: the public URL): 1–512 bytes of UTF-8 \
             without spaces or control characters. The document states up to 512 ASCII \
             characters, or up to 128 of any script; a longer value that fits in 512 bytes \
             is accepted too.",
        ))
    }
}

impl ToSchema for Audience {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Audience")
    }
}

#[cfg(test)]
mod tests {
    //! Each schema against the rule it states, over a table of hostile strings: what the
    //! document accepts, the rule accepts (sound); where the comment says "exactly", the
    //! converse too.

    use secrecy::SecretString;
    use serde_json::Value;

    use super::*;
    use crate::accounts::client_id::plausible_client_id;
    use crate::accounts::passwords::{self, PasswordError};
    use crate::accounts::scopes::{is_scope_token, parse_scope};
    use crate::accounts::{Username, check_description};

    /// Whether `value` matches the (string) JSON Schema `schema`: `pattern`, `minLength`,
    /// `maxLength`, `not` `enum`, and `anyOf` of such.
    fn accepts(schema: &Value, value: &str) -> bool {
        if let Some(branches) = schema["anyOf"].as_array() {
            return branches.iter().any(|b| accepts(b, value));
        }
        if let Some(refused) = schema["not"]["enum"].as_array()
            && refused.iter().any(|r| r == value)
        {
            return false;
        }
        let len = value.chars().count() as u64;
        schema["minLength"].as_u64().is_none_or(|min| len >= min)
            && schema["maxLength"].as_u64().is_none_or(|max| len <= max)
            && schema["pattern"].as_str().is_none_or(|p| {
                regex::Regex::new(p)
                    .expect("the document's patterns compile")
                    .is_match(value)
            })
    }

    fn schema_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("schemas serialize")
    }

    /// Hostile and ordinary strings: every ASCII character alone and in a name, blanks,
    /// controls, other scripts, compatibility forms, lengths around each bound.
    fn samples() -> Vec<String> {
        let mut out: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        out.extend((0u8..=0x7f).map(|b| format!("ab{}cd", char::from(b))));
        for s in [
            "",
            " ",
            "  a ",
            "alice",
            "Alice",
            "ÉMILE",
            "émile",
            "ＡＬＩＣＥ",
            "ﬁ",
            "²",
            "a\u{85}",
            "\u{a0}",
            "a\u{a0}b",
            "\u{3000}x",
            "\u{2028}",
            "\u{feff}",
            "\u{200b}",
            "€",
            "日本",
            "😀",
            "a\u{9f}",
            "a\u{a0}",
            "\u{1680}",
            "notes:read",
            "a!#[]~",
            "a\"b",
            "a\\b",
            "correct horse",
            "ééééé",
            "😀😀",
            "password",
            "Password1",
            "admin",
            "user",
            "users",
        ] {
            out.push(s.to_owned());
        }
        for n in [
            7, 8, 9, 49, 50, 51, 63, 64, 65, 127, 128, 129, 199, 200, 201, 255, 256, 257,
        ] {
            for unit in ["a", "é", "€", "😀", " "] {
                out.push(unit.repeat(n));
            }
        }
        for n in [511, 512, 513, 1023, 1024, 1025] {
            out.push("a".repeat(n));
        }
        out
    }

    fn check(name: &str, schema: &Value, rule: impl Fn(&str) -> bool, exact: bool) {
        let mut accepted = 0;
        for s in samples() {
            let (documented, enforced) = (accepts(schema, &s), rule(&s));
            assert!(
                !documented || enforced,
                "{name}: the document accepts {s:?}, the server refuses it"
            );
            if exact {
                assert_eq!(documented, enforced, "{name}: {s:?}");
            }
            accepted += usize::from(documented);
        }
        assert!(accepted > 0, "{name}: the document accepts nothing");
    }

    #[test]
    fn each_documented_string_is_accepted_by_the_rule_it_states() {
        check(
            "Username",
            &schema_of::<UsernameText>(),
            |s| Username::parse(s).is_ok(),
            false,
        );
        check(
            "NewPassword",
            &schema_of::<NewPassword>(),
            |s| {
                // The length rule; the common-password list is not in the document.
                !matches!(
                    passwords::check_new_password(&SecretString::from(s.to_owned()), None),
                    Err(PasswordError::TooShort | PasswordError::TooLong)
                )
            },
            false,
        );
        check(
            "RoleName",
            &schema_of::<RoleName>(),
            |s| is_scope_token(s) && s.len() <= 64,
            true,
        );
        check(
            "DeletableRoleName",
            &schema_of::<DeletableRoleName>(),
            |s| is_scope_token(s) && s.len() <= 64 && !BUILT_IN_ROLES.contains(&s),
            true,
        );
        check("ScopeName", &schema_of::<ScopeName>(), is_scope_token, true);
        check(
            "Description",
            &schema_of::<Description>(),
            |s| check_description(s).is_ok(),
            true,
        );
        check(
            "ClientName",
            &schema_of::<ClientName>(),
            |s| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(char::is_control),
            false,
        );
        check(
            "Audience",
            &schema_of::<Audience>(),
            |s| !s.is_empty() && s.len() <= 512 && !s.chars().any(|c| c.is_control() || c == ' '),
            false,
        );
        // The OAuth forms: an empty value counts as absent (RFC 6749 §3.1).
        let token_request = schema_of::<crate::openapi::schemas::TokenRequest>();
        check(
            "form client_id",
            &token_request["properties"]["client_id"],
            |s| s.is_empty() || plausible_client_id(s),
            true,
        );
        check(
            "form username",
            &token_request["properties"]["username"],
            |s| s.is_empty() || Username::parse(s).is_ok(),
            false,
        );
        let scope_list = &token_request["properties"]["scope"];
        assert!(scope_list["pattern"].is_string(), "{token_request}");
        check(
            "scope parameter",
            scope_list,
            |s| parse_scope(s).is_some(),
            true,
        );
        for (list, want) in [
            ("a b", true),
            ("  a   b  ", true),
            (&format!("{} b", "a".repeat(128)), true),
            (&"a".repeat(129), false),
            (&format!("{}{}", "a".repeat(100), "b".repeat(100)), false),
            ("a \"b", false),
        ] {
            assert_eq!(accepts(scope_list, list), want, "{list:?}");
            assert_eq!(parse_scope(list).is_some(), want, "{list:?}");
        }
    }
}
