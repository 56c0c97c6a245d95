//! Scope names and the granting rule of ARCHITECTURE.md.

use std::collections::BTreeSet;

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Parses a space-delimited `scope` parameter into a set; `None` if a token is invalid.
pub fn parse_scope(s: &str) -> Option<BTreeSet<String>> {
    s.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| is_scope_token(t).then(|| t.to_owned()))
        .collect()
}

/// Why no scope could be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRefusal {
    /// A requested scope does not exist.
    Unknown(String),
    /// Something was requested, but nothing of it may be granted: each requested scope
    /// is outside the client's allowed list or (for a user) not held through a role.
    NothingGrantable {
        /// Requested scopes the client may not be granted.
        client_refuses: Vec<String>,
        /// Requested scopes the client allows but the user's roles do not hold.
        not_held: Vec<String>,
    },
}

/// Inputs of the granting decision.
#[derive(Debug, Clone, Copy)]
pub struct ScopeContext<'a> {
    /// Every scope that exists.
    pub known: &'a BTreeSet<String>,
    /// Scopes flagged default.
    pub defaults: &'a BTreeSet<String>,
    /// Scopes the subject holds (union over a user's roles); `None` for a client acting
    /// for itself.
    pub held: Option<&'a BTreeSet<String>>,
    /// Scopes allowed to the client.
    pub client_allowed: &'a BTreeSet<String>,
}

/// Granted = requested ∩ held ∩ client-allowed. Nothing requested → the default scopes
/// (for a user) or the client's allowed scopes (for `client_credentials`), minus `admin`,
/// which is never granted implicitly. An unknown requested scope is refused
/// (`invalid_scope`), and so is a request of which nothing may be granted.
pub fn grant(
    requested: Option<&BTreeSet<String>>,
    ctx: ScopeContext<'_>,
) -> Result<BTreeSet<String>, ScopeRefusal> {
    let allowed =
        |s: &String| ctx.client_allowed.contains(s) && ctx.held.is_none_or(|held| held.contains(s));
    match requested {
        Some(requested) if !requested.is_empty() => {
            if let Some(unknown) = requested.iter().find(|s| !ctx.known.contains(*s)) {
                return Err(ScopeRefusal::Unknown(unknown.clone()));
            }
            let granted: BTreeSet<String> =
                requested.iter().filter(|s| allowed(s)).cloned().collect();
            if granted.is_empty() {
                let (client_refuses, not_held) = requested
                    .iter()
                    .cloned()
                    .partition(|s| !ctx.client_allowed.contains(s));
                Err(ScopeRefusal::NothingGrantable {
                    client_refuses,
                    not_held,
                })
            } else {
                Ok(granted)
            }
        }
        _ => {
            let base = if ctx.held.is_some() {
                ctx.defaults
            } else {
                ctx.client_allowed
            };
            Ok(base
                .iter()
                .filter(|s| allowed(s) && s.as_str() != "admin")
                .cloned()
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scope_tokens_follow_rfc6749() {
        assert!(is_scope_token("notes:read"));
        assert!(is_scope_token("a!#[]~"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
        assert_eq!(parse_scope("  a  b "), Some(set(&["a", "b"])));
        assert_eq!(parse_scope("a \"b"), None);
    }

    /// Name, requested scopes, expected outcome.
    type Case<'a> = (
        &'a str,
        Option<&'a [&'a str]>,
        Result<&'a [&'a str], ScopeRefusal>,
    );

    #[test]
    fn the_granting_table() {
        let known = set(&["profile", "admin", "notes:read", "notes:write"]);
        let defaults = set(&["profile"]);
        let user = set(&["profile", "notes:read", "admin"]);
        let client = set(&["profile", "notes:read", "notes:write", "admin"]);
        let ctx = ScopeContext {
            known: &known,
            defaults: &defaults,
            held: Some(&user),
            client_allowed: &client,
        };
        let cases: &[Case<'_>] = &[
            ("nothing requested gives defaults", None, Ok(&["profile"])),
            (
                "requested and held",
                Some(&["notes:read"]),
                Ok(&["notes:read"]),
            ),
            (
                "narrowed to what is held",
                Some(&["notes:read", "notes:write"]),
                Ok(&["notes:read"]),
            ),
            (
                "admin when asked and held",
                Some(&["admin"]),
                Ok(&["admin"]),
            ),
            (
                "unknown scope",
                Some(&["nope"]),
                Err(ScopeRefusal::Unknown("nope".into())),
            ),
            (
                "nothing grantable: not held",
                Some(&["notes:write"]),
                Err(ScopeRefusal::NothingGrantable {
                    client_refuses: vec![],
                    not_held: vec!["notes:write".into()],
                }),
            ),
        ];
        for (name, requested, want) in cases {
            let requested = requested.map(set);
            let got = grant(requested.as_ref(), ctx);
            assert_eq!(got, want.clone().map(set), "{name}");
        }
        let narrow_client = set(&["profile"]);
        let ctx2 = ScopeContext {
            client_allowed: &narrow_client,
            ..ctx
        };
        assert_eq!(
            grant(Some(&set(&["notes:read", "profile"])), ctx2),
            Ok(set(&["profile"])),
            "client narrows"
        );
        assert_eq!(
            grant(Some(&set(&["notes:read", "notes:write"])), ctx2),
            Err(ScopeRefusal::NothingGrantable {
                client_refuses: vec!["notes:read".into(), "notes:write".into()],
                not_held: vec![],
            }),
            "nothing grantable: the client refuses"
        );
        let machine = ScopeContext { held: None, ..ctx };
        assert_eq!(
            grant(None, machine),
            Ok(set(&["notes:read", "notes:write", "profile"])),
            "client credentials default excludes admin"
        );
    }
}
