//! `POST /oauth/token` (RFC 6749 §3.2): the password, refresh_token and
//! client_credentials grants.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use secrecy::SecretString;
use serde::Serialize;

use super::client_auth::{Authenticated, authenticate};
use super::error::OAuthError;
use super::form::Params;
use super::issue::{self, Subject};
use crate::accounts::Username;
use crate::accounts::passwords::HashError;
use crate::accounts::scopes::{self, ScopeContext, ScopeRefusal};
use crate::accounts::throttle::Subject as Throttled;
use crate::state::AppState;
use crate::store::{Rotation, User};
use rampart::https::ClientIp;

/// RFC 6749 §5.1 success body.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        // RFC 6749 §5.1: responses carrying tokens must not be cached.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
            .headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// The token endpoint.
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<TokenResponse, OAuthError> {
    let params = Params::parse(&headers, &body)?;
    let grant_type = params.require("grant_type")?;
    if !matches!(
        grant_type,
        "password" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::unsupported_grant_type());
    }
    let client = authenticate(&state, ip, &headers, &params).await?;
    let basic = client.used_basic();
    if !client.client.grants.iter().any(|g| g == grant_type) {
        let mut e = OAuthError::unauthorized_client("this client may not use this grant type");
        if grant_type == "client_credentials" && !client.client.confidential {
            e = OAuthError::unauthorized_client(
                "client_credentials is only for confidential clients",
            );
        }
        return Err(e);
    }
    let requested = match params.get("scope") {
        Some(s) => Some(
            scopes::parse_scope(s)
                .ok_or_else(|| OAuthError::invalid_scope("the scope parameter is malformed"))?,
        ),
        None => None,
    };
    let result = match grant_type {
        "password" => password(&state, ip, &client, &params, requested.as_ref()).await,
        "refresh_token" => refresh(&state, &client, &params, requested.as_ref()).await,
        _ => client_credentials(&state, &client, requested.as_ref()).await,
    };
    result.map_err(|e| {
        if e.code == "invalid_client" {
            OAuthError::invalid_client(basic)
        } else {
            e
        }
    })
}

fn scope_error(refusal: ScopeRefusal) -> OAuthError {
    match refusal {
        ScopeRefusal::Unknown(s) => OAuthError::invalid_scope(format!("unknown scope {s}")),
        ScopeRefusal::NothingGrantable => {
            OAuthError::invalid_scope("none of the requested scopes may be granted")
        }
    }
}

async fn scope_sets(state: &AppState) -> Result<(BTreeSet<String>, BTreeSet<String>), OAuthError> {
    let all = state.accounts.store.list_scopes().await?;
    let known = all.iter().map(|s| s.name.clone()).collect();
    let defaults = all
        .iter()
        .filter(|s| s.is_default)
        .map(|s| s.name.clone())
        .collect();
    Ok((known, defaults))
}

async fn held_scopes(state: &AppState, user: &User) -> Result<BTreeSet<String>, OAuthError> {
    state.accounts.user_scopes(user).await.map_err(|e| {
        tracing::error!(error = %e, "reading roles failed");
        OAuthError::server_error()
    })
}

/// RFC 6749 §4.3. Unknown user, wrong password and disabled account all answer the same
/// `invalid_grant`, after the same amount of hashing work.
async fn password(
    state: &AppState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    params: &Params,
    requested: Option<&BTreeSet<String>>,
) -> Result<TokenResponse, OAuthError> {
    let username = params.require("username")?;
    let password = SecretString::from(params.require("password")?.to_owned());
    let name = Username::parse(username).ok();
    // Throttling comes before any hashing: a locked request costs one lookup.
    if let Err(wait) = state.login_rate.check(ip) {
        return Err(OAuthError::too_many(wait));
    }
    let account = Throttled::Account(
        name.as_ref()
            .map_or_else(|| username.to_owned(), |n| n.as_str().to_owned()),
    );
    let subjects = [Throttled::Ip(ip), account];
    if let Err(wait) = state.throttle.check(&subjects).await? {
        return Err(OAuthError::too_many(wait));
    }
    let user = match &name {
        Some(name) => state.accounts.store.user_by_username(name.as_str()).await?,
        None => None,
    };
    let verification = state
        .accounts
        .passwords
        .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await
        .map_err(|e| match e {
            // Bounded hashing: refuse at once rather than queue without limit.
            HashError::Busy => OAuthError::unavailable(1),
            e => {
                tracing::error!(error = %e, "password verification failed to run");
                OAuthError::server_error()
            }
        })?;
    let user = match user {
        Some(user) if verification.ok && !user.disabled => user,
        _ => {
            for (subject, lock) in state.throttle.failed(&subjects).await? {
                tracing::warn!(
                    ?subject,
                    seconds = lock.as_secs(),
                    "login locked out after repeated failures"
                );
            }
            return Err(OAuthError::invalid_grant(
                "the username or password is incorrect",
            ));
        }
    };
    // RFC-free but OWASP: a successful login resets the account's counter.
    state.throttle.succeeded(&subjects[1]).await?;
    if verification.needs_rehash {
        match state.accounts.passwords.hash(&password).await {
            Ok(hash) => {
                let now = state.accounts.clock.now();
                if let Err(e) = state
                    .accounts
                    .store
                    .set_password_hash(user.id, &hash, None, now)
                    .await
                {
                    tracing::warn!(error = %e, "could not store an upgraded password hash");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
        }
    }
    let (known, defaults) = scope_sets(state).await?;
    let held = held_scopes(state, &user).await?;
    let allowed: BTreeSet<String> = client.client.scopes.iter().cloned().collect();
    let granted = scopes::grant(
        requested,
        ScopeContext {
            known: &known,
            defaults: &defaults,
            held: Some(&held),
            client_allowed: &allowed,
        },
    )
    .map_err(scope_error)?;
    let (access_token, expires_in) = issue::access_token(
        state,
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
        },
        &granted,
    )?;
    let scope = issue::join(&granted);
    let refresh_token = if client.client.grants.iter().any(|g| g == "refresh_token") {
        let (value, hash, row) =
            issue::new_refresh(state, &client.client.id, user.id, &scope, None);
        state.accounts.store.insert_refresh(&row, &hash).await?;
        Some(value)
    } else {
        None
    };
    tracing::info!(user = %user.id, client = %client.client.id, "login");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        scope,
    })
}

/// RFC 6749 §6, with rotation and reuse detection (RFC 9700 §4.14.2).
async fn refresh(
    state: &AppState,
    client: &Authenticated,
    params: &Params,
    requested: Option<&BTreeSet<String>>,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let hash = crate::secret::digest(presented);
    let store = &state.accounts.store;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let Some(record) = store.refresh_by_hash(&hash).await? else {
        return Err(invalid());
    };
    if record.client_id != client.client.id {
        return Err(invalid());
    }
    // §6: the new scope may only narrow the original grant. Checked only for a current
    // token: a rotated one must reach the reuse detection below, whatever it asks for.
    let original: BTreeSet<String> = record
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let current = record.used_at.is_none() && record.revoked_at.is_none();
    if let Some(requested) = requested
        && current
        && !requested.is_subset(&original)
    {
        return Err(OAuthError::invalid_scope(
            "a refresh may not widen the original scope",
        ));
    }
    let user = store.user_by_id(record.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        store
            .revoke_family(record.family_id, state.accounts.clock.now())
            .await?;
        return Err(invalid());
    };
    let (next_value, next_hash, next_row) = issue::new_refresh(
        state,
        &client.client.id,
        user.id,
        &record.scope,
        Some(record.family_id),
    );
    let now = state.accounts.clock.now();
    match store
        .rotate_refresh(&hash, &client.client.id, &next_row, &next_hash, now)
        .await?
    {
        Rotation::Rotated(_) => {}
        Rotation::Reused { family_id, user_id } => {
            tracing::warn!(family = %family_id, user = %user_id, client = %client.client.id, "refresh token reuse detected; family revoked");
            return Err(invalid());
        }
        Rotation::Invalid => return Err(invalid()),
    }
    // Re-check against the user's current roles: a role removed since login stops here.
    let held = held_scopes(state, &user).await?;
    let allowed: BTreeSet<String> = client.client.scopes.iter().cloned().collect();
    let base = requested.unwrap_or(&original);
    let granted: BTreeSet<String> = base
        .iter()
        .filter(|s| held.contains(*s) && allowed.contains(*s))
        .cloned()
        .collect();
    let (access_token, expires_in) = issue::access_token(
        state,
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
        },
        &granted,
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: Some(next_value),
        scope: issue::join(&granted),
    })
}

/// RFC 6749 §4.4: confidential clients only, no refresh token, `sub` = client id.
async fn client_credentials(
    state: &AppState,
    client: &Authenticated,
    requested: Option<&BTreeSet<String>>,
) -> Result<TokenResponse, OAuthError> {
    if !client.client.confidential || !client.has_secret() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials is only for confidential clients",
        ));
    }
    let (known, defaults) = scope_sets(state).await?;
    let allowed: BTreeSet<String> = client.client.scopes.iter().cloned().collect();
    let granted = scopes::grant(
        requested,
        ScopeContext {
            known: &known,
            defaults: &defaults,
            held: None,
            client_allowed: &allowed,
        },
    )
    .map_err(scope_error)?;
    let (access_token, expires_in) =
        issue::access_token(state, &client.client, &Subject::Client, &granted)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: None,
        scope: issue::join(&granted),
    })
}
