//! PKCE (RFC 7636) as Rampart requires it: `S256` for every client, `plain` and a
//! missing challenge refused (RFC 9700 §2.1.1, OAuth 2.1). Pure functions: the
//! authorization endpoint checks the challenge, the token endpoint the verifier.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a PKCE parameter is refused. The authorization endpoint answers each with
/// `invalid_request` (RFC 7636 §4.4.1), the token endpoint with `invalid_grant` (§4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// No `code_challenge`.
    MissingChallenge,
    /// `code_challenge_method` other than `S256` (`plain` included), or absent: the RFC's
    /// default is `plain`, which Rampart does not accept.
    MethodNotS256,
    /// A challenge that is not the unpadded base64url of a SHA-256 digest (43 characters).
    MalformedChallenge,
    /// A verifier outside §4.1's 43–128 unreserved characters.
    MalformedVerifier,
    /// SHA-256 of the verifier is not the challenge.
    Mismatch,
}

impl PkceError {
    /// The `error_description`: says what is wrong, never echoes the value.
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingChallenge => "code_challenge is required (PKCE, S256)",
            Self::MethodNotS256 => "code_challenge_method must be S256",
            Self::MalformedChallenge => {
                "code_challenge must be the unpadded base64url SHA-256 of the verifier"
            }
            Self::MalformedVerifier => {
                "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~"
            }
            Self::Mismatch => "code_verifier does not match the code_challenge",
        }
    }
}

/// Checks the authorization request's `code_challenge` and `code_challenge_method`;
/// returns the challenge to store with the code.
pub fn check_challenge<'a>(
    challenge: Option<&'a str>,
    method: Option<&str>,
) -> Result<&'a str, PkceError> {
    let challenge = challenge
        .filter(|c| !c.is_empty())
        .ok_or(PkceError::MissingChallenge)?;
    if method != Some("S256") {
        return Err(PkceError::MethodNotS256);
    }
    // The decoder refuses padding and non-canonical trailing bits, so one digest has
    // exactly one accepted spelling.
    match URL_SAFE_NO_PAD.decode(challenge) {
        Ok(digest) if digest.len() == 32 => Ok(challenge),
        _ => Err(PkceError::MalformedChallenge),
    }
}

/// RFC 7636 §4.1: `code_verifier = 43*128unreserved`.
pub fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The token request's `code_verifier` against the challenge stored with the code
/// (§4.6), compared in constant time.
pub fn verify(verifier: Option<&str>, challenge: &str) -> Result<(), PkceError> {
    let verifier = verifier
        .filter(|v| verifier_is_well_formed(v))
        .ok_or(PkceError::MalformedVerifier)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(digest.as_ref());
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
        .map_err(|_| PkceError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    #[allow(clippy::type_complexity)]
    fn challenge_table() {
        let long = "A".repeat(44);
        let cases: &[(&str, Option<&str>, Option<&str>, Result<&str, PkceError>)] = &[
            ("RFC 7636 B", Some(CHALLENGE), Some("S256"), Ok(CHALLENGE)),
            (
                "missing challenge",
                None,
                Some("S256"),
                Err(PkceError::MissingChallenge),
            ),
            (
                "empty challenge",
                Some(""),
                Some("S256"),
                Err(PkceError::MissingChallenge),
            ),
            (
                "method absent means plain",
                Some(CHALLENGE),
                None,
                Err(PkceError::MethodNotS256),
            ),
            (
                "plain refused",
                Some(CHALLENGE),
                Some("plain"),
                Err(PkceError::MethodNotS256),
            ),
            (
                "method is case-sensitive",
                Some(CHALLENGE),
                Some("s256"),
                Err(PkceError::MethodNotS256),
            ),
            (
                "padded",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
            (
                "standard alphabet",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
            (
                "non-canonical last character",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
            (
                "too long",
                Some(long.as_str()),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
            (
                "42 characters",
                Some(VERIFIER.get(..42).unwrap_or_default()),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
        ];
        for (name, challenge, method, want) in cases {
            assert_eq!(&check_challenge(*challenge, *method), want, "{name}");
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn verifier_table() {
        let min = "a".repeat(43);
        let max = "~".repeat(128);
        let over = "a".repeat(129);
        let short = "a".repeat(42);
        let cases: &[(&str, Option<&str>, &str, Result<(), PkceError>)] = &[
            ("RFC 7636 B", Some(VERIFIER), CHALLENGE, Ok(())),
            (
                "missing",
                None,
                CHALLENGE,
                Err(PkceError::MalformedVerifier),
            ),
            (
                "42 characters",
                Some(short.as_str()),
                CHALLENGE,
                Err(PkceError::MalformedVerifier),
            ),
            (
                "129 characters",
                Some(over.as_str()),
                CHALLENGE,
                Err(PkceError::MalformedVerifier),
            ),
            (
                "43 characters, wrong",
                Some(min.as_str()),
                CHALLENGE,
                Err(PkceError::Mismatch),
            ),
            (
                "128 characters, wrong",
                Some(max.as_str()),
                CHALLENGE,
                Err(PkceError::Mismatch),
            ),
            (
                "reserved character",
                Some("dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                CHALLENGE,
                Err(PkceError::MalformedVerifier),
            ),
            (
                "non-ASCII",
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjé"),
                CHALLENGE,
                Err(PkceError::MalformedVerifier),
            ),
            (
                "the challenge itself as verifier",
                Some(CHALLENGE),
                CHALLENGE,
                Err(PkceError::Mismatch),
            ),
            (
                "one character off",
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
                CHALLENGE,
                Err(PkceError::Mismatch),
            ),
        ];
        for (name, verifier, challenge, want) in cases {
            assert_eq!(&verify(*verifier, challenge), want, "{name}");
        }
    }

    #[test]
    fn descriptions_never_carry_the_value() {
        for e in [
            PkceError::MissingChallenge,
            PkceError::MethodNotS256,
            PkceError::MalformedChallenge,
            PkceError::MalformedVerifier,
            PkceError::Mismatch,
        ] {
            assert!(!e.description().contains(VERIFIER) && !e.description().contains(CHALLENGE));
        }
    }
}
