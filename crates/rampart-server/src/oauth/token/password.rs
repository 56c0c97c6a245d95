//! The password grant (RFC 6749 §4.3).

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::{TokenResponse, held_scopes, record_lockouts, scope_error, scope_sets};
use crate::accounts::Username;
use crate::accounts::passwords::HashError;
use crate::accounts::pool::Slot;
use crate::accounts::scopes::{self, ScopeContext};
use crate::accounts::throttle::Subject as Throttled;
use crate::audit::{Event, Kind};
use crate::oauth::client_auth::Authenticated;
use crate::oauth::error::OAuthError;
use crate::oauth::form::Params;
use crate::oauth::issue::{self, Subject};
use crate::state::AppState;

/// The answer when password hashing could not run: refused at once rather than queued
/// without limit, by the queue (retry in a second) or by the hashing CPU budget (retry when
/// its debt has drained): 503 + `Retry-After`.
fn busy(state: &AppState, e: HashError) -> OAuthError {
    match e {
        HashError::Busy => {
            state.metrics.login("busy");
            OAuthError::unavailable(state.accounts.passwords.retry_after().as_secs())
        }
        e => {
            tracing::error!(error = %e, "password verification failed to run");
            OAuthError::server_error()
        }
    }
}

/// Admits a password-grant attempt before any store lookup: the per-IP rate limit (429),
/// then a place on the hashing pool (503 when its queue is full or its CPU budget spent).
///
/// Every later step reads the store: the client, the failure-backoff standing, the user.
/// Reserving the hashing place first means that under a login flood the attempts the pool
/// would refuse anyway are refused at the cost of parsing them, and the flood costs the
/// store nothing. The place (and its budget charge) is given back if the attempt stops
/// earlier, e.g. at client authentication or a locked account.
pub(super) fn admit(state: &AppState, ip: std::net::IpAddr) -> Result<Slot, OAuthError> {
    if let Err(wait) = state.login_rate.check(ip) {
        state.metrics.login("locked");
        return Err(OAuthError::too_many(wait));
    }
    state
        .accounts
        .passwords
        .reserve()
        .map_err(|e| busy(state, e))
}

/// RFC 6749 §4.3. Unknown user, wrong password and disabled account all answer the same
/// `invalid_grant`, after the same amount of hashing work. `slot`: the place on the
/// hashing pool from [`admit`].
pub(super) async fn grant(
    state: &AppState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    params: &Params,
    requested: Option<&BTreeSet<String>>,
    slot: Slot,
) -> Result<TokenResponse, OAuthError> {
    let username = params.require("username")?;
    let password = SecretString::from(params.require("password")?.to_owned());
    // A name no account can have is refused before any write: throttle keys and the
    // audit trail hold only well-formed, bounded usernames. The rules are public, so this
    // answer says nothing about which accounts exist.
    let name = Username::parse(username)
        .map_err(|e| OAuthError::invalid_request(format!("the username is not valid: {e}")))?;
    // Throttling comes before any hashing: a locked request costs one lookup.
    let account = Throttled::Account(name.as_str().to_owned());
    let subjects = [Throttled::Ip(ip), account];
    let standing = state.throttle.standing(&subjects).await?;
    if let Err(wait) = standing.locked() {
        state.metrics.login("locked");
        return Err(OAuthError::too_many(wait));
    }
    let user = state.accounts.store.user_by_username(name.as_str()).await?;
    let verification = state
        .accounts
        .passwords
        .verify_in(
            slot,
            &password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await
        .map_err(|e| busy(state, e))?;
    let failure = match &user {
        None => Some("unknown_user"),
        Some(_) if !verification.ok => Some("wrong_password"),
        Some(u) if u.disabled => Some("disabled"),
        Some(_) => None,
    };
    let user = match (user, failure) {
        (Some(user), None) => user,
        (user, reason) => {
            // The client sees one answer; the audit trail keeps the reason.
            let attempted = user.map_or_else(|| name.as_str().to_owned(), |u| u.username);
            let mut event = Event::new(Kind::LoginFailed)
                .subject(attempted)
                .client(&client.client.id)
                .ip(ip);
            if let Some(reason) = reason {
                event = event.reason(reason);
            }
            state.audit.record(event).await;
            state.metrics.login("failure");
            record_lockouts(state, &subjects, ip).await?;
            return Err(OAuthError::invalid_grant(
                "the username or password is incorrect",
            ));
        }
    };
    // RFC-free but OWASP: a successful login resets the account's counter.
    state
        .throttle
        .succeeded_after(Some(&standing), &subjects[1])
        .await?;
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
    .map_err(scope_error(&client.client.id))?;
    // The login's session: the refresh-token family, and the access tokens' `sid`.
    let session = Uuid::new_v4();
    let (access_token, expires_in) = issue::access_token(
        state,
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
            session,
        },
        &granted,
    )?;
    let scope = issue::join(&granted);
    let refresh_token = if client.client.grants.iter().any(|g| g == "refresh_token") {
        let (value, hash, row) =
            issue::new_refresh(state, &client.client.id, user.id, &scope, session);
        state.accounts.store.insert_refresh(&row, &hash).await?;
        Some(value)
    } else {
        None
    };
    state
        .audit
        .record(
            Event::new(Kind::LoginSucceeded)
                .actor(user.id)
                .client(&client.client.id)
                .ip(ip)
                .details(json!({"scope": &scope})),
        )
        .await;
    state.metrics.login("success");
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        scope,
    })
}
