//! A user's profile (OpenID Connect `name`, `email`, `email_verified`): what may be
//! stored, whoever writes it (the admin API, the CLI, the import). Pure.

use std::fmt;

use crate::store::Profile;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest email address, in bytes (RFC 5321 §4.5.3.1.3 path limit less the brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Why a profile is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileError {
    Name,
    Email,
    VerifiedWithoutEmail,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Name => "name must be 1–200 printable characters (null to remove it)",
            Self::Email => "email must be an address like user@example.com, at most 254 bytes",
            Self::VerifiedWithoutEmail => "email_verified needs an email",
        })
    }
}

impl std::error::Error for ProfileError {}

/// `profile` as it would be stored (name and email trimmed), or why it may not be.
pub fn check_profile(profile: &Profile) -> Result<Profile, ProfileError> {
    let name = match profile.name.as_deref().map(str::trim) {
        None => None,
        Some(name)
            if name.is_empty()
                || name.chars().count() > MAX_NAME_CHARS
                || name.chars().any(char::is_control) =>
        {
            return Err(ProfileError::Name);
        }
        Some(name) => Some(name.to_owned()),
    };
    let email = match profile.email.as_deref().map(str::trim) {
        None => None,
        Some(email) if !plausible_email(email) => return Err(ProfileError::Email),
        Some(email) => Some(email.to_owned()),
    };
    if profile.email_verified && email.is_none() {
        return Err(ProfileError::VerifiedWithoutEmail);
    }
    Ok(Profile {
        name,
        email,
        email_verified: profile.email_verified,
    })
}

/// `local@domain`: one `@`, a local part of 1–64 bytes, a domain of dot-separated
/// non-empty labels with at least one dot, no spaces or control characters. Deliverability
/// is the operator's to check (hence `email_verified`); this keeps out what no address is.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= MAX_EMAIL_BYTES
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: Option<&str>, email: Option<&str>, verified: bool) -> Profile {
        Profile {
            name: name.map(str::to_owned),
            email: email.map(str::to_owned),
            email_verified: verified,
        }
    }

    #[test]
    fn the_profile_table() {
        let long_name = "n".repeat(201);
        let long_email = format!("{}@example.com", "a".repeat(65));
        let cases = [
            (
                "empty",
                profile(None, None, false),
                Ok(profile(None, None, false)),
            ),
            (
                "trimmed",
                profile(Some("  Ada Lovelace "), Some(" ada@example.com "), true),
                Ok(profile(Some("Ada Lovelace"), Some("ada@example.com"), true)),
            ),
            (
                "a unicode name",
                profile(Some("Zoë Ångström"), None, false),
                Ok(profile(Some("Zoë Ångström"), None, false)),
            ),
            (
                "a blank name",
                profile(Some("   "), None, false),
                Err(ProfileError::Name),
            ),
            (
                "a name with a newline",
                profile(Some("a\nb"), None, false),
                Err(ProfileError::Name),
            ),
            (
                "a 201-character name",
                profile(Some(&long_name), None, false),
                Err(ProfileError::Name),
            ),
            (
                "no @",
                profile(None, Some("ada.example.com"), false),
                Err(ProfileError::Email),
            ),
            (
                "two @",
                profile(None, Some("a@b@example.com"), false),
                Err(ProfileError::Email),
            ),
            (
                "no domain dot",
                profile(None, Some("ada@localhost"), false),
                Err(ProfileError::Email),
            ),
            (
                "an empty label",
                profile(None, Some("ada@example..com"), false),
                Err(ProfileError::Email),
            ),
            (
                "a space inside",
                profile(None, Some("ada lovelace@example.com"), false),
                Err(ProfileError::Email),
            ),
            (
                "a 65-byte local part",
                profile(None, Some(&long_email), false),
                Err(ProfileError::Email),
            ),
            (
                "an empty local part",
                profile(None, Some("@example.com"), false),
                Err(ProfileError::Email),
            ),
            (
                "verified without an email",
                profile(None, None, true),
                Err(ProfileError::VerifiedWithoutEmail),
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(check_profile(&input), expected, "{name}");
        }
    }
}
