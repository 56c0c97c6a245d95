//! The password grant (RFC 6749 §4.3).

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::{TokenResponse, held_scopes, scope_error, scope_sets};
use crate::accounts::Username;
use crate::accounts::pool::Slot;
use crate::accounts::scopes::{self, ScopeContext};
use crate::audit::{Event, Kind};
use crate::oauth::client_auth::Authenticated;
use crate::oauth::error::OAuthError;
use crate::oauth::form::Params;
use crate::oauth::issue::{self, Subject};

/// Admits a password-grant attempt before any store lookup (429, 503); see
/// [`Login::admit`](crate::accounts::login::Login::admit).
pub(super) fn admit(state: &super::TokenState, ip: std::net::IpAddr) -> Result<Slot, OAuthError> {
    Ok(state.login.admit(ip)?)
}

/// RFC 6749 §4.3. Unknown user, wrong password and disabled account all answer the same
/// `invalid_grant`, after the same amount of hashing work. `slot`: the place on the
/// hashing pool from [`admit`].
pub(super) async fn grant(
    state: &super::TokenState,
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
    let user = state
        .login
        .verify(slot, ip, &client.client.id, &name, &password)
        .await?;
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
    let (access_token, expires_in) = state.issuer.access_token(
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
            session,
        },
        &granted,
    )?;
    let scope = issue::join(&granted);
    let refresh_token =
        super::refresh_token_for(state, &client.client, user.id, &scope, session).await?;
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
        id_token: None,
    })
}
