//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6, RFC 9700 §2.1.1):
//! a code redeemed once, by the client it was issued to, with the `redirect_uri` of its
//! authorization request and the PKCE verifier of its challenge. A code presented again
//! is refused and what its first redemption issued is revoked (§4.1.2: the session and
//! its refresh tokens, and the access token by its `jti`).

use std::collections::BTreeSet;

use serde_json::json;
use uuid::Uuid;

use super::{TokenResponse, held_scopes};
use crate::audit::{Event, Kind};
use crate::oauth::client_auth::Authenticated;
use crate::oauth::error::OAuthError;
use crate::oauth::form::Params;
use crate::oauth::issue::{self, Subject};
use crate::oauth::pkce::{self, PkceError};
use crate::store::{AuthCode, Redemption, SessionStart};

/// Why a code may not be redeemed by this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Issued to another client (RFC 6749 §4.1.3).
    OtherClient,
    Expired,
    /// The token request has no `redirect_uri`, though the authorization request had one.
    MissingRedirectUri,
    /// A `redirect_uri` other than the authorization request's.
    RedirectUriMismatch,
    Pkce(PkceError),
}

impl CodeRefusal {
    /// The `error_description` (none of it secret: the client made the request).
    pub fn description(self) -> &'static str {
        match self {
            Self::OtherClient | Self::Expired => {
                "the authorization code is invalid, expired or already used"
            }
            Self::MissingRedirectUri => {
                "redirect_uri is required: the one of the authorization request"
            }
            Self::RedirectUriMismatch => {
                "redirect_uri differs from the one of the authorization request"
            }
            Self::Pkce(PkceError::MalformedVerifier) => {
                "code_verifier is missing or malformed (RFC 7636 §4.1: 43–128 unreserved characters)"
            }
            Self::Pkce(_) => "code_verifier does not match the code_challenge",
        }
    }
}

/// Whether an unused `code` may be redeemed at `now` by `client_id` presenting
/// `redirect_uri` and `verifier`. Checked before the code is marked used, so a request
/// that fails here (a stolen code without its verifier) does not burn the code of the
/// client it belongs to. Pure.
pub fn check_redemption(
    code: &AuthCode,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: i64,
) -> Result<(), CodeRefusal> {
    if code.client_id != client_id {
        return Err(CodeRefusal::OtherClient);
    }
    if code.expires_at <= now {
        return Err(CodeRefusal::Expired);
    }
    match redirect_uri {
        None => return Err(CodeRefusal::MissingRedirectUri),
        // Exact string comparison (RFC 6749 §4.1.3 "identical").
        Some(uri) if uri != code.redirect_uri => return Err(CodeRefusal::RedirectUriMismatch),
        Some(_) => {}
    }
    pkce::verify(verifier, &code.code_challenge).map_err(CodeRefusal::Pkce)
}

/// RFC 6749 §4.1.3.
pub(super) async fn grant(
    state: &super::TokenState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("code")?;
    let hash = crate::secret::digest(presented);
    let accounts = &state.accounts;
    let unknown = || OAuthError::invalid_grant(CodeRefusal::Expired.description());
    let Some(code) = accounts.code(&hash).await? else {
        return Err(unknown());
    };
    let now = accounts.clock.now();
    if code.used_at.is_some() {
        if code.client_id == client.client.id {
            revoke_first_use(state, ip, client, &code).await?;
        }
        return Err(unknown());
    }
    check_redemption(
        &code,
        &client.client.id,
        params.get("redirect_uri"),
        params.get("code_verifier"),
        now,
    )
    .map_err(|refusal| OAuthError::invalid_grant(refusal.description()))?;
    let user = accounts.user(code.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(unknown());
    };
    // The consented scope, as the user's roles and the client allow it now.
    let held = held_scopes(state, &user).await?;
    let allowed: BTreeSet<String> = client.client.scopes.iter().cloned().collect();
    let granted: BTreeSet<String> = code
        .scope
        .split(' ')
        .filter(|s| !s.is_empty() && held.contains(*s) && allowed.contains(*s))
        .map(str::to_owned)
        .collect();
    let redemption = Redemption {
        family_id: Uuid::new_v4(),
        access_jti: Uuid::new_v4().to_string(),
        access_expires_at: now + state.issuer.access_ttl(&client.client),
    };
    let scope = issue::join(&granted);
    let openid = granted.contains("openid");
    // The session's first refresh token is written with the redemption (one write).
    let start = (wants_refresh(openid, granted.contains("offline_access"))
        && client.client.grants.iter().any(|g| g == "refresh_token"))
    .then(|| {
        let (value, token_hash, token) =
            state
                .issuer
                .new_refresh(&client.client, user.id, &scope, redemption.family_id);
        let start = SessionStart {
            token,
            hash: token_hash,
            browser_session: code.browser_session,
        };
        (value, start)
    });
    let redeemed = match &start {
        Some((_, start)) => {
            accounts
                .redeem_code_starting(&hash, &redemption, now, start)
                .await?
        }
        None => accounts.redeem_code(&hash, &redemption, now).await?,
    };
    if !redeemed {
        // Another redemption won the race: this is a second use.
        if let Some(winner) = accounts.code(&hash).await? {
            revoke_first_use(state, ip, client, &winner).await?;
        }
        return Err(unknown());
    }
    let (access_token, expires_in) = state.issuer.access_token_with_jti(
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
            session: redemption.family_id,
        },
        &granted,
        &redemption.access_jti,
    )?;
    let refresh_token = start.map(|(value, _)| value);
    let id_token = if openid {
        let sign_in = issue::SignIn {
            user_id: user.id,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
            browser_session: code.browser_session,
        };
        Some(
            state
                .issuer
                .id_token(&client.client, sign_in, &access_token)
                .await?,
        )
    } else {
        None
    };
    state
        .audit
        .record(
            Event::new(Kind::LoginSucceeded)
                .actor(user.id)
                .subject(redemption.family_id)
                .client(&client.client.id)
                .ip(ip)
                .details(json!({"scope": &scope, "grant": "authorization_code"})),
        )
        .await;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        scope,
        id_token,
    })
}

/// Whether the code's redemption may start a refresh-token session (the client must
/// also hold the `refresh_token` grant). OIDC Core §11: a sign-in (`openid`) gets a
/// refresh token only when `offline_access` was granted; a plain OAuth authorization
/// gets one as the password grant does. Pure.
pub fn wants_refresh(openid: bool, offline_access: bool) -> bool {
    !openid || offline_access
}

/// A code came a second time: ends the session its first redemption started and
/// denylists the access token it issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
async fn revoke_first_use(
    state: &super::TokenState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    code: &AuthCode,
) -> Result<(), OAuthError> {
    let Some(first) = &code.redeemed else {
        return Ok(());
    };
    state.accounts.revoke_session(first.family_id).await?;
    state
        .accounts
        .revoke_access_token(&first.access_jti, first.access_expires_at)
        .await?;
    state
        .audit
        .record(
            Event::new(Kind::RefreshReuse)
                .actor(code.user_id)
                .subject(first.family_id)
                .client(&client.client.id)
                .ip(ip)
                .reason("authorization_code_presented_again"),
        )
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_by_scope() {
        let cases = [
            ("plain OAuth", false, false, true),
            ("sign-in without offline_access", true, false, false),
            ("sign-in with offline_access", true, true, true),
            (
                "offline_access without openid is plain OAuth",
                false,
                true,
                true,
            ),
        ];
        for (name, openid, offline, expected) in cases {
            assert_eq!(wants_refresh(openid, offline), expected, "{name}");
        }
    }

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code() -> AuthCode {
        AuthCode {
            client_id: "app".into(),
            user_id: Uuid::nil(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: CHALLENGE.into(),
            scope: "profile".into(),
            nonce: None,
            auth_time: 100,
            browser_session: None,
            created_at: 100,
            expires_at: 160,
            used_at: None,
            redeemed: None,
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn the_redemption_table() {
        let other = "B".repeat(43);
        let cases: [(
            &str,
            &str,
            Option<&str>,
            Option<&str>,
            i64,
            Result<(), CodeRefusal>,
        ); 9] = [
            (
                "all bound values",
                "app",
                Some("https://app.example/cb"),
                Some(VERIFIER),
                159,
                Ok(()),
            ),
            (
                "another client",
                "other",
                Some("https://app.example/cb"),
                Some(VERIFIER),
                120,
                Err(CodeRefusal::OtherClient),
            ),
            (
                "at its expiry",
                "app",
                Some("https://app.example/cb"),
                Some(VERIFIER),
                160,
                Err(CodeRefusal::Expired),
            ),
            (
                "no redirect_uri",
                "app",
                None,
                Some(VERIFIER),
                120,
                Err(CodeRefusal::MissingRedirectUri),
            ),
            (
                "another redirect_uri",
                "app",
                Some("https://app.example/cb2"),
                Some(VERIFIER),
                120,
                Err(CodeRefusal::RedirectUriMismatch),
            ),
            (
                "a trailing slash",
                "app",
                Some("https://app.example/cb/"),
                Some(VERIFIER),
                120,
                Err(CodeRefusal::RedirectUriMismatch),
            ),
            (
                "no verifier",
                "app",
                Some("https://app.example/cb"),
                None,
                120,
                Err(CodeRefusal::Pkce(PkceError::MalformedVerifier)),
            ),
            (
                "a short verifier",
                "app",
                Some("https://app.example/cb"),
                Some("abc"),
                120,
                Err(CodeRefusal::Pkce(PkceError::MalformedVerifier)),
            ),
            (
                "another verifier",
                "app",
                Some("https://app.example/cb"),
                Some(&other),
                120,
                Err(CodeRefusal::Pkce(PkceError::Mismatch)),
            ),
        ];
        for (name, client, redirect, verifier, now, expected) in cases {
            assert_eq!(
                check_redemption(&code(), client, redirect, verifier, now),
                expected,
                "{name}"
            );
        }
    }
}
