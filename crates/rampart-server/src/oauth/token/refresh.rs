//! The refresh_token grant (RFC 6749 §6), with rotation and reuse detection.

use std::collections::BTreeSet;

use super::{TokenResponse, held_scopes};
use crate::accounts::rotation::Rotation;
use crate::audit::{Event, Kind};
use crate::oauth::client_auth::Authenticated;
use crate::oauth::error::OAuthError;
use crate::oauth::form::Params;
use crate::oauth::issue::{self, Subject};

/// RFC 6749 §6, with rotation and reuse detection (RFC 9700 §4.14.2).
pub(super) async fn grant(
    state: &super::TokenState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    params: &Params,
    requested: Option<&BTreeSet<String>>,
) -> Result<TokenResponse, OAuthError> {
    let presented = params.require("refresh_token")?;
    let hash = crate::secret::digest(presented);
    let accounts = &state.accounts;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let Some(record) = accounts.refresh_token(&hash).await? else {
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
    let user = accounts.user(record.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled) else {
        state.accounts.revoke_session(record.family_id).await?;
        return Err(invalid());
    };
    let (next_value, next_hash, next_row) =
        state
            .issuer
            .new_refresh(&client.client, user.id, &record.scope, record.family_id);
    let now = state.accounts.clock.now();
    match accounts
        .rotate_refresh(&hash, &client.client.id, &next_row, &next_hash, now)
        .await?
    {
        Rotation::Rotated(_) => {}
        Rotation::Reused { family_id, user_id } => {
            // The family is revoked; its access tokens end with it.
            state.accounts.access.session_revoked(family_id, now);
            state
                .audit
                .record(
                    Event::new(Kind::RefreshReuse)
                        .actor(user_id)
                        .subject(family_id)
                        .client(&client.client.id)
                        .ip(ip)
                        .reason("rotated_token_presented_again"),
                )
                .await;
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
    let (access_token, expires_in) = state.issuer.access_token(
        &client.client,
        &Subject::User {
            id: user.id,
            roles: &user.roles,
            session: record.family_id,
        },
        &granted,
    )?;
    state
        .audit
        .record(
            Event::new(Kind::Refresh)
                .actor(user.id)
                .subject(record.family_id)
                .client(&client.client.id)
                .ip(ip),
        )
        .await;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: Some(next_value),
        scope: issue::join(&granted),
    })
}
