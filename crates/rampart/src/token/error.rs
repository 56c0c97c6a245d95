//! Why a token was refused.

/// Why a token was refused. Every variant except [`TokenError::KeysUnavailable`] means
/// "this token is not acceptable" (RFC 6750 `invalid_token`, 401);
/// `KeysUnavailable` means "we cannot tell right now" (503).
///
/// The messages are safe to show to clients: they never contain the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured maximum; it was not decoded.
    #[error("the token is too large")]
    TooLarge,
    /// Not a JWS in compact serialization (part count, base64url, JSON).
    #[error("the token is malformed")]
    Malformed,
    /// Five parts: a JWE. Encrypted tokens are not accepted.
    #[error("encrypted tokens (JWE) are not accepted")]
    Encrypted,
    /// The header or payload repeats a JSON member name.
    #[error("the token repeats a JSON member name")]
    DuplicateMember,
    /// `alg` is missing, `none`, or not supported.
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// The header lists `crit` extensions this validator does not understand.
    #[error("the token has critical header parameters that are not understood")]
    UnsupportedCritical,
    /// The header `typ` is not the one required.
    #[error("the token type is not accepted")]
    WrongType,
    /// No key matches the header's `kid` (or no `kid` and several keys could match).
    #[error("no key matches the token")]
    UnknownKey,
    /// The key found for `kid` is bound to another algorithm than the header's `alg`.
    #[error("the token's algorithm does not match its key")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// A registered claim is required but absent.
    #[error("the token is missing the `{0}` claim")]
    MissingClaim(&'static str),
    /// A registered claim has the wrong JSON type or an impossible value.
    #[error("the token's `{0}` claim is malformed")]
    InvalidClaim(&'static str),
    /// The claims do not match the application's claims type.
    #[error("the token's claims do not have the expected shape")]
    ClaimsShape,
    /// `exp` is in the past (beyond leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond leeway).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `iat` is older than the configured maximum age.
    #[error("the token is too old")]
    TooOld,
    /// `iss` does not equal the configured issuer.
    #[error("the token issuer is not accepted")]
    WrongIssuer,
    /// No `aud` value equals a configured audience.
    #[error("the token audience is not accepted")]
    WrongAudience,
    /// The token was revoked (its `jti` is on a denylist).
    #[error("the token has been revoked")]
    Revoked,
    /// No usable keys could be obtained (for example the JWKS endpoint is down and
    /// nothing is cached). Answered 503: the token may well be valid.
    #[error("signing keys are temporarily unavailable")]
    KeysUnavailable,
    /// A [`TokenCheck`](crate::token::TokenCheck) could not read the state it needs (its
    /// database is down). Answered 503: the token may well be valid.
    #[error("the token's state cannot be checked right now")]
    CheckUnavailable,
}

impl TokenError {
    /// True when the failure says nothing about the token itself (answer 503, not 401).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::KeysUnavailable | Self::CheckUnavailable)
    }

    /// A short stable name for metrics labels and logs (`expired`, `invalid_signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Encrypted => "encrypted",
            Self::DuplicateMember => "duplicate_member",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnsupportedCritical => "unsupported_critical",
            Self::WrongType => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::InvalidSignature => "invalid_signature",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::ClaimsShape => "claims_shape",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::TooOld => "too_old",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Revoked => "revoked",
            Self::KeysUnavailable => "keys_unavailable",
            Self::CheckUnavailable => "check_unavailable",
        }
    }
}
