//! Minting access tokens (RFC 9068) and refresh tokens.

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use std::sync::Arc;

use axum::extract::FromRef;

use super::error::OAuthError;
use crate::clock::Clock;
use crate::keys::Keys;
use crate::secret;
use crate::state::{AppState, TokenSettings};
use crate::store::{Client, RefreshToken};

/// What minting needs: the signing keys, the lifetimes and the issuer, the clock.
#[derive(Clone)]
pub struct Issuer {
    keys: Keys,
    settings: Arc<TokenSettings>,
    clock: Clock,
}

impl FromRef<AppState> for Issuer {
    fn from_ref(state: &AppState) -> Self {
        Self {
            keys: state.keys.clone(),
            settings: Arc::clone(&state.settings),
            clock: state.accounts.clock.clone(),
        }
    }
}

/// RFC 9068 §2.2 access-token claims.
#[derive(Debug, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: &'a str,
    /// The session (refresh-token family) of a user's token (OIDC `sid`): revoking the
    /// session ends its access tokens too.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    scope: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    roles: &'a [String],
}

/// The subject of a token.
pub enum Subject<'a> {
    /// A user (password and refresh grants), in the session (refresh-token family) of
    /// the login the token comes from.
    User {
        id: Uuid,
        roles: &'a [String],
        session: Uuid,
    },
    /// The client itself (client_credentials).
    Client,
}

impl Issuer {
    /// Signs an access token for `client`; returns the token and its lifetime in seconds.
    pub fn access_token(
        &self,
        client: &Client,
        subject: &Subject<'_>,
        scope: &BTreeSet<String>,
    ) -> Result<(String, i64), OAuthError> {
        self.access_token_with_jti(client, subject, scope, &Uuid::new_v4().to_string())
    }

    /// The access token's lifetime for `client`, in seconds.
    pub fn access_ttl(&self, client: &Client) -> i64 {
        client
            .access_token_ttl
            .map_or(self.settings.access_ttl, i64::from)
    }

    /// [`Self::access_token`] with a `jti` chosen beforehand (recorded before the token
    /// exists, so that it can be revoked later).
    pub fn access_token_with_jti(
        &self,
        client: &Client,
        subject: &Subject<'_>,
        scope: &BTreeSet<String>,
        jti: &str,
    ) -> Result<(String, i64), OAuthError> {
        let now = self.clock.now();
        let settings = &self.settings;
        let access_ttl = self.access_ttl(client);
        let user_id;
        let (sub, roles, sid): (&str, &[String], _) = match subject {
            Subject::User { id, roles, session } => {
                user_id = id.to_string();
                (&user_id, roles, Some(session.to_string()))
            }
            Subject::Client => (&client.id, &[], None),
        };
        let claims = AccessClaims {
            iss: &settings.issuer,
            sub,
            aud: client.audience.as_deref().unwrap_or(&settings.issuer),
            exp: now + access_ttl,
            iat: now,
            jti: jti.to_owned(),
            client_id: &client.id,
            sid,
            scope: join(scope),
            roles,
        };
        let key = self.keys.active().map_err(|e| {
            tracing::error!(error = %e, "no active signing key");
            OAuthError::server_error()
        })?;
        let token = key.sign("at+jwt", &claims).map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::server_error()
        })?;
        Ok((token, access_ttl))
    }

    /// Seconds after a rotation during which the rotated token still gets a successor.
    pub fn refresh_reuse_grace(&self) -> i64 {
        self.settings.refresh_reuse_grace
    }

    /// A new refresh token in the session (family) `family_id`: the opaque value (returned
    /// to the client once) and the row to store.
    /// The session's absolute lifetime is the client's own when it has one; its idle
    /// lifetime is the server's, never longer than that.
    pub fn new_refresh(
        &self,
        client: &Client,
        user_id: Uuid,
        scope: &str,
        family_id: Uuid,
    ) -> (String, Vec<u8>, RefreshToken) {
        let now = self.clock.now();
        let lifetime = client
            .refresh_token_ttl
            .map_or(self.settings.refresh_ttl, i64::from);
        let value = secret::random_token(32);
        let hash = secret::digest(&value);
        let row = RefreshToken {
            id: Uuid::new_v4(),
            family_id,
            user_id,
            client_id: client.id.clone(),
            scope: scope.to_owned(),
            created_at: now,
            expires_at: now + lifetime,
            idle_expires_at: now + self.settings.refresh_idle_ttl.min(lifetime),
            used_at: None,
            revoked_at: None,
        };
        (value, hash, row)
    }
}

/// Space-separated scope string.
pub fn join(scope: &BTreeSet<String>) -> String {
    scope
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}
