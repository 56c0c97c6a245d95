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

/// OIDC Core §2 ID-token claims, as the authorization-code flow issues them.
#[derive(Debug, Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    azp: &'a str,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// What an ID token says of the sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub user_id: Uuid,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// The browser session (`sid`, for RP-initiated logout).
    pub browser_session: Option<Uuid>,
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of the SHA-256 of the access token's
/// ASCII, base64url without padding (SHA-256 because ID tokens are RS256). Pure.
pub fn at_hash(access_token: &str) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
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

    /// Signs an ID token (OIDC Core §2, §3.1.3.6) for `client`, beside `access_token`,
    /// with the RS256 key; it lives as long as the access token.
    pub async fn id_token(
        &self,
        client: &Client,
        sign_in: SignIn<'_>,
        access_token: &str,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let claims = IdClaims {
            iss: &self.settings.issuer,
            sub: sign_in.user_id.to_string(),
            aud: &client.id,
            exp: now + self.access_ttl(client),
            iat: now,
            auth_time: sign_in.auth_time,
            nonce: sign_in.nonce,
            azp: &client.id,
            at_hash: at_hash(access_token),
            sid: sign_in.browser_session.map(|s| s.to_string()),
        };
        let key = self.keys.id_token_key().await.map_err(|e| {
            tracing::error!(error = %e, "no ID-token signing key");
            OAuthError::server_error()
        })?;
        key.sign("JWT", &claims).map_err(|e| {
            tracing::error!(error = %e, "signing failed");
            OAuthError::server_error()
        })
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

#[cfg(test)]
mod tests {
    use super::at_hash;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OpenID Connect Core 1.0, Appendix A.3 (an RS256 ID token with at_hash).
        let cases = [(
            "spec example",
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
            "77QmUPtjPfzWtF2AnpK9RQ",
        )];
        for (name, token, expected) in cases {
            assert_eq!(at_hash(token), expected, "{name}");
        }
    }
}
