//! The claims policy: a pure function from (claims, policy, now) to allow or a reason.

use std::time::Duration;

use super::{Claims, TokenError};

/// Which JOSE `typ` header a token must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypPolicy {
    /// RFC 9068 access tokens: `at+jwt` (or `application/at+jwt`). The default, and
    /// what the Rampart token server issues. Stops an ID token or any other JWT signed by
    /// the same key from being replayed as an access token (RFC 8725 §3.11).
    AccessToken,
    /// Exactly this media type (compared as RFC 7515 §4.1.9 says: case-insensitive,
    /// `application/` optional).
    Exact(String),
    /// Any `typ`, or none. For issuers that do not follow RFC 9068.
    Any,
}

impl TypPolicy {
    pub(crate) fn allows(&self, typ: Option<&str>) -> bool {
        let want = match self {
            Self::Any => return true,
            Self::AccessToken => "at+jwt",
            Self::Exact(t) => t.as_str(),
        };
        let Some(typ) = typ else { return false };
        normalize_typ(typ).eq_ignore_ascii_case(normalize_typ(want))
    }
}

/// Which claims a token must carry. Set with
/// [`ValidatorBuilder::profile`](crate::ValidatorBuilder::profile); independent of the
/// `typ` header policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Profile {
    /// RFC 9068 §2.2 JWT access tokens, the default: `iss`, `exp`, `aud`, `sub`,
    /// `client_id`, `iat` and `jti` are all REQUIRED, and a token missing any of them is
    /// refused with [`TokenError::MissingClaim`] (401 `invalid_token`), whatever the `typ`
    /// policy and even with `insecure_skip_iss` / `insecure_skip_aud` (which skip the
    /// comparison of the value, not its presence).
    #[default]
    AccessToken,
    /// Plain RFC 7519 JWTs, for legacy issuers that do not follow RFC 9068: only `exp` is
    /// required, plus `iss` when an issuer is configured and `aud` when an audience is;
    /// `sub`, `client_id`, `iat` (unless `max_age` is set) and `jti` may be absent.
    /// A token without `jti` cannot be revoked through the revocation list.
    PlainJwt,
}

fn normalize_typ(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    }
}

/// What the registered claims must satisfy. Built by [`ValidatorBuilder`](crate::ValidatorBuilder).
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) typ: TypPolicy,
    pub(crate) profile: Profile,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_token_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            issuer: None,
            audiences: Vec::new(),
            leeway: 30,
            typ: TypPolicy::AccessToken,
            profile: Profile::AccessToken,
            max_age: None,
            max_token_len: 8 * 1024,
        }
    }
}

impl Policy {
    /// Checks the time claims, issuer, audience and the profile's required claims of
    /// verified claims at time `now` (seconds since the epoch). Pure: the clock is an
    /// argument.
    pub fn check(&self, claims: &Claims, now: i64) -> Result<(), TokenError> {
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        // RFC 7519 §4.1.4: the current time MUST be before `exp`.
        let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        // RFC 7519 §4.1.5: not before `nbf`.
        if let Some(nbf) = claims.nbf
            && now.saturating_add(leeway) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        if let Some(iat) = claims.iat
            && iat > now.saturating_add(leeway)
        {
            return Err(TokenError::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            let iat = claims.iat.ok_or(TokenError::MissingClaim("iat"))?;
            let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            if now.saturating_sub(iat) > max_age.saturating_add(leeway) {
                return Err(TokenError::TooOld);
            }
        }
        // RFC 7519 §4.1.1 / RFC 9068 §4: exact string comparison.
        if let Some(issuer) = &self.issuer {
            match &claims.iss {
                None => return Err(TokenError::MissingClaim("iss")),
                Some(iss) if iss != issuer => return Err(TokenError::WrongIssuer),
                Some(_) => {}
            }
        }
        // RFC 7519 §4.1.3: one of the token's audiences must be ours.
        if !self.audiences.is_empty() {
            if claims.aud.is_empty() {
                return Err(TokenError::MissingClaim("aud"));
            }
            if !self.audiences.iter().any(|a| claims.aud.contains(a)) {
                return Err(TokenError::WrongAudience);
            }
        }
        // RFC 9068 §2.2: every one of these is REQUIRED in a JWT access token (`exp`
        // was checked first). Last, so that a token wrong in several ways is refused for
        // what the checks above say (an expired token is `Expired`, not `MissingClaim`).
        if self.profile == Profile::AccessToken {
            let required = [
                ("iss", claims.iss.is_some()),
                ("aud", !claims.aud.is_empty()),
                ("sub", claims.sub.is_some()),
                ("client_id", claims.client_id.is_some()),
                ("iat", claims.iat.is_some()),
                ("jti", claims.jti.is_some()),
            ];
            if let Some((name, _)) = required.iter().find(|(_, present)| !present) {
                return Err(TokenError::MissingClaim(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Audience;

    const NOW: i64 = 1_700_000_000;

    fn policy() -> Policy {
        Policy {
            issuer: Some("https://issuer.example".into()),
            audiences: vec!["api".into(), "other".into()],
            max_age: Some(Duration::from_secs(3600)),
            ..Policy::default()
        }
    }

    /// Every claim RFC 9068 §2.2 requires, valid at `NOW`.
    fn claims() -> Claims {
        Claims {
            iss: Some("https://issuer.example".into()),
            aud: Audience(vec!["api".into()]),
            sub: Some("alice".into()),
            client_id: Some("notes-app".into()),
            exp: Some(NOW + 60),
            iat: Some(NOW - 10),
            nbf: Some(NOW - 10),
            jti: Some("j-1".into()),
            ..Claims::default()
        }
    }

    #[test]
    fn the_policy_table() {
        type Edit = fn(&mut Claims);
        let cases: &[(&str, Edit, Result<(), TokenError>)] = &[
            ("valid", |_| {}, Ok(())),
            (
                "no exp",
                |c| c.exp = None,
                Err(TokenError::MissingClaim("exp")),
            ),
            (
                "expired beyond leeway",
                |c| c.exp = Some(NOW - 30),
                Err(TokenError::Expired),
            ),
            ("expired within leeway", |c| c.exp = Some(NOW - 29), Ok(())),
            (
                "nbf beyond leeway",
                |c| c.nbf = Some(NOW + 31),
                Err(TokenError::NotYetValid),
            ),
            ("nbf within leeway", |c| c.nbf = Some(NOW + 30), Ok(())),
            (
                "iat in the future",
                |c| c.iat = Some(NOW + 31),
                Err(TokenError::IssuedInFuture),
            ),
            (
                "too old",
                |c| c.iat = Some(NOW - 3631),
                Err(TokenError::TooOld),
            ),
            (
                "max age needs iat",
                |c| c.iat = None,
                Err(TokenError::MissingClaim("iat")),
            ),
            (
                "no iss",
                |c| c.iss = None,
                Err(TokenError::MissingClaim("iss")),
            ),
            (
                "other iss",
                |c| c.iss = Some("https://issuer.example/".into()),
                Err(TokenError::WrongIssuer),
            ),
            (
                "iss case",
                |c| c.iss = Some("https://ISSUER.example".into()),
                Err(TokenError::WrongIssuer),
            ),
            (
                "no aud",
                |c| c.aud = Audience::default(),
                Err(TokenError::MissingClaim("aud")),
            ),
            (
                "wrong aud",
                |c| c.aud = Audience(vec!["API".into()]),
                Err(TokenError::WrongAudience),
            ),
            (
                "one of many aud",
                |c| c.aud = Audience(vec!["x".into(), "other".into()]),
                Ok(()),
            ),
            (
                "no sub",
                |c| c.sub = None,
                Err(TokenError::MissingClaim("sub")),
            ),
            (
                "no client_id",
                |c| c.client_id = None,
                Err(TokenError::MissingClaim("client_id")),
            ),
            (
                "no jti",
                |c| c.jti = None,
                Err(TokenError::MissingClaim("jti")),
            ),
            (
                "expired and without sub: the time check speaks first",
                |c| {
                    c.exp = Some(NOW - 31);
                    c.sub = None;
                },
                Err(TokenError::Expired),
            ),
            ("no nbf (optional in RFC 9068)", |c| c.nbf = None, Ok(())),
            ("no scope (optional)", |c| c.scope = None, Ok(())),
        ];
        for (name, edit, want) in cases {
            let mut c = claims();
            edit(&mut c);
            assert_eq!(&policy().check(&c, NOW), want, "{name}");
        }
    }

    /// RFC 9068 §2.2 makes these claims REQUIRED: under the default profile their
    /// presence is checked even where no value is compared (no issuer or audience
    /// configured, no maximum age); the plain JWT profile, chosen explicitly, requires
    /// only `exp` there. (`typ` is checked on the header, before this function, and has no
    /// say here: tests/hostile.rs shows `TypPolicy::Any` relaxes no claim.)
    #[test]
    fn the_access_token_profile_requires_every_rfc9068_claim() {
        type Edit = fn(&mut Claims);
        type Want = Result<(), TokenError>;
        // (case, edit, under the access-token profile, under the plain JWT profile)
        let cases: &[(&str, Edit, Want, Want)] = &[
            ("all present", |_| {}, Ok(()), Ok(())),
            (
                "no iss",
                |c| c.iss = None,
                Err(TokenError::MissingClaim("iss")),
                Ok(()),
            ),
            (
                "no aud",
                |c| c.aud = Audience::default(),
                Err(TokenError::MissingClaim("aud")),
                Ok(()),
            ),
            (
                "no sub",
                |c| c.sub = None,
                Err(TokenError::MissingClaim("sub")),
                Ok(()),
            ),
            (
                "no client_id",
                |c| c.client_id = None,
                Err(TokenError::MissingClaim("client_id")),
                Ok(()),
            ),
            (
                "no iat",
                |c| c.iat = None,
                Err(TokenError::MissingClaim("iat")),
                Ok(()),
            ),
            (
                "no jti",
                |c| c.jti = None,
                Err(TokenError::MissingClaim("jti")),
                Ok(()),
            ),
            (
                "no exp",
                |c| c.exp = None,
                Err(TokenError::MissingClaim("exp")),
                Err(TokenError::MissingClaim("exp")),
            ),
            (
                "only exp",
                |c| {
                    *c = Claims {
                        exp: c.exp,
                        ..Claims::default()
                    }
                },
                Err(TokenError::MissingClaim("iss")),
                Ok(()),
            ),
        ];
        // What `insecure_skip_iss` and `insecure_skip_aud` leave: no value to compare.
        let unchecked = |profile| Policy {
            profile,
            ..Policy::default()
        };
        for (name, edit, access_token, plain_jwt) in cases {
            let mut c = claims();
            edit(&mut c);
            assert_eq!(
                &unchecked(Profile::AccessToken).check(&c, NOW),
                access_token,
                "{name}, access-token profile"
            );
            assert_eq!(
                &unchecked(Profile::PlainJwt).check(&c, NOW),
                plain_jwt,
                "{name}, plain JWT profile"
            );
        }
        // The plain JWT profile still enforces what is configured.
        let plain = Policy {
            profile: Profile::PlainJwt,
            ..policy()
        };
        let mut c = claims();
        c.iss = None;
        assert_eq!(plain.check(&c, NOW), Err(TokenError::MissingClaim("iss")));
    }

    #[test]
    fn typ_matching_follows_rfc7515() {
        let p = TypPolicy::AccessToken;
        assert!(p.allows(Some("at+jwt")));
        assert!(p.allows(Some("application/at+jwt")));
        assert!(p.allows(Some("AT+JWT")));
        assert!(!p.allows(Some("JWT")));
        assert!(!p.allows(Some("application/jwt")));
        assert!(!p.allows(None));
        assert!(TypPolicy::Any.allows(None));
        assert!(TypPolicy::Exact("JWT".into()).allows(Some("jwt")));
    }
}
