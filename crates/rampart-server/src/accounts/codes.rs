//! Authorization codes: issued by the authorization endpoint, redeemed once at the token
//! endpoint. What a redemption must match is the protocol's rule, beside its grant
//! (`oauth::token::authorization_code`); this is the storage side.

use super::Accounts;
use crate::secret;
use crate::store::{AuthCode, Redemption, SessionStart, StoreError};

/// How long a code lives (RFC 6749 §4.1.2 recommends at most 10 minutes; a browser
/// redirect and a token request take seconds).
pub const CODE_TTL: i64 = 60;

impl Accounts {
    /// Stores `code` and returns the code to hand out once: 256 random bits, only its
    /// digest kept.
    pub async fn issue_code(&self, code: &AuthCode) -> Result<String, StoreError> {
        let value = secret::random_token(32);
        self.store
            .insert_code(code, &secret::digest(&value))
            .await?;
        Ok(value)
    }

    /// The stored code whose digest is `hash`.
    pub async fn code(&self, hash: &[u8]) -> Result<Option<AuthCode>, StoreError> {
        self.store.code_by_hash(hash).await
    }

    /// Marks the code used with what this redemption issues; `false` when another
    /// redemption came first (or it expired meanwhile).
    pub async fn redeem_code(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.store.redeem_code(hash, redemption, now).await
    }

    /// [`Self::redeem_code`] that also stores the session's first refresh token (`start`)
    /// in the same transaction.
    pub async fn redeem_code_starting(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
        start: &SessionStart,
    ) -> Result<bool, StoreError> {
        self.store
            .redeem_code_starting(hash, redemption, now, start)
            .await
    }

    /// Deletes codes expired for over an hour (a reuse within that hour is still told
    /// apart from an unknown code, and revokes what the first use issued).
    pub async fn purge_codes(&self) -> Result<u64, StoreError> {
        self.store
            .purge_codes(self.clock.now().saturating_sub(3600))
            .await
    }
}
