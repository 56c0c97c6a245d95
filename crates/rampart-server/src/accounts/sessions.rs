//! The refresh tokens of a session (RFC 6749 §6): started at a login, rotated on every
//! use, revoked with their family. The values are opaque; only their digests are stored.

use std::sync::Arc;

use super::Accounts;
use super::rotation::{self, Rotation};
use crate::store::{RefreshStore, RefreshToken, StoreError};

impl Accounts {
    /// Stores the first refresh token of a session (`hash`: the digest of its value).
    pub async fn start_session(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError> {
        self.store.insert_refresh(token, hash).await
    }

    /// The refresh token whose value has the digest `hash`, whatever its state.
    pub async fn refresh_token(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError> {
        self.store.refresh_by_hash(hash).await
    }

    /// Rotates the token `hash` of `client_id` into `next` at `now`, or revokes its
    /// family when it is a rotated token presented again ([`rotation::rotate`]: the
    /// store's one atomic "rotate if current", the reuse rule above it).
    pub async fn rotate_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
        grace: i64,
    ) -> Result<Rotation, StoreError> {
        let store = Arc::clone(&self.store) as Arc<dyn RefreshStore>;
        rotation::rotate(store, hash, client_id, next, next_hash, now, grace).await
    }

    /// Denylists the access token `jti` until it expires at `expires_at` (RFC 7009), in
    /// the store: every instance picks it up at its next reload.
    pub async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.store.revoke_jti(jti, expires_at).await
    }
}
