//! `Username`: parsed once at the edge, compared case-insensitively forever after.

use unicode_normalization::UnicodeNormalization as _;

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// Longest input [`Username::parse`] looks at, in bytes.
const MAX_USERNAME_INPUT_BYTES: usize = 1024;

/// A username: NFKC-normalised, lower-cased, 1–64 characters of letters, digits and
/// `. _ - @ +`. Two usernames that differ only in case or Unicode compatibility form are
/// the same user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty after normalisation.
    #[error("the username is empty")]
    Empty,
    /// Over [`MAX_USERNAME_CHARS`].
    #[error("the username is longer than {MAX_USERNAME_CHARS} characters")]
    TooLong,
    /// A character outside the allowed set.
    #[error("usernames may contain only letters, digits and . _ - @ +")]
    BadCharacter,
}

impl Username {
    /// Parses user input.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        // Normalising costs time in the input's length: refuse what cannot shrink to 64
        // characters first (one character is at most 4 bytes, a combining sequence
        // composing into it a few more).
        if input.len() > MAX_USERNAME_INPUT_BYTES {
            return Err(UsernameError::TooLong);
        }
        let normalized: String = input.trim().nfkc().flat_map(char::to_lowercase).collect();
        if normalized.is_empty() {
            return Err(UsernameError::Empty);
        }
        if normalized.chars().count() > MAX_USERNAME_CHARS {
            return Err(UsernameError::TooLong);
        }
        if !normalized
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Self(normalized))
    }

    /// The normalised form (what is stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        let ok = [
            ("Alice", "alice"),
            ("  bob ", "bob"),
            ("ＡＬＩＣＥ", "alice"),
            ("a.b_c-d@e+f", "a.b_c-d@e+f"),
            ("Émile", "émile"),
        ];
        for (input, want) in ok {
            assert_eq!(Username::parse(input).unwrap().as_str(), want, "{input}");
        }
        let bad = [
            ("", UsernameError::Empty),
            ("   ", UsernameError::Empty),
            ("a b", UsernameError::BadCharacter),
            ("a'--", UsernameError::BadCharacter),
            ("a\u{0}", UsernameError::BadCharacter),
            ("x%", UsernameError::BadCharacter),
        ];
        for (input, want) in bad {
            assert_eq!(Username::parse(input).unwrap_err(), want, "{input:?}");
        }
        assert_eq!(
            Username::parse(&"a".repeat(65)).unwrap_err(),
            UsernameError::TooLong
        );
        assert_eq!(
            Username::parse(&"a".repeat(16 * 1024)).unwrap_err(),
            UsernameError::TooLong,
            "refused before normalising"
        );
        assert_eq!(
            Username::parse(&format!("{}{}", "a".repeat(64), " ".repeat(900)))
                .unwrap()
                .as_str(),
            "a".repeat(64),
            "trailing blanks within the input bound are trimmed"
        );
    }
}
