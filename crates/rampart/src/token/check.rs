//! Checks of token *state* that only the application can make (a session ended, a user
//! disabled), run on every accepted token after the validator's own checks.

use std::future::Future;
use std::pin::Pin;

use super::{Claims, TokenError};

/// The future a [`TokenCheck`] returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TokenError>> + Send + 'a>>;

/// An application-defined check of a token that passed validation: signature, claims
/// policy and revocation list. Runs on every validation, on a cache hit as well as after a
/// full validation, so a token the check refuses is refused at once even though the
/// verified-token cache still holds it.
///
/// Answer `Err(TokenError::Revoked)` (401 `invalid_token`) for a token that must no longer
/// be accepted, and `Err(TokenError::CheckUnavailable)` (503) when the state cannot be
/// read right now. The token server uses this to end the access of disabled, deleted or
/// demoted users and of revoked sessions; keep it an in-memory lookup in the common case:
/// it runs on every request.
///
/// ```
/// use rampart::token::{CheckFuture, Claims, TokenCheck, TokenError};
///
/// struct NoBannedSubjects(Vec<String>);
///
/// impl TokenCheck for NoBannedSubjects {
///     fn check<'a>(&'a self, claims: &'a Claims) -> CheckFuture<'a> {
///         let banned = claims.sub.as_ref().is_some_and(|s| self.0.contains(s));
///         Box::pin(async move { if banned { Err(TokenError::Revoked) } else { Ok(()) } })
///     }
/// }
/// ```
pub trait TokenCheck: Send + Sync + 'static {
    /// Accepts or refuses the verified `claims`.
    fn check<'a>(&'a self, claims: &'a Claims) -> CheckFuture<'a>;
}
