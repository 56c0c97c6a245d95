//! The refresh_token grant (RFC 6749 §6), with rotation and reuse detection.

use std::collections::BTreeSet;

use super::{TokenResponse, held_scopes};
use crate::accounts::rotation::{self, Rotation};
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
    // §6: the new scope may only narrow the original grant. Checked only for a token that
    // can be served (current, or rotated within the reuse grace window): any other
    // rotated one must reach the reuse detection below, whatever it asks for.
    let original: BTreeSet<String> = record
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let grace = state.issuer.refresh_reuse_grace();
    let now = state.accounts.clock.now();
    let current = record.revoked_at.is_none()
        && record
            .used_at
            .is_none_or(|used| rotation::within_grace(used, now, grace));
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
    let sibling = match accounts
        .rotate_refresh(&hash, &client.client.id, &next_row, &next_hash, now, grace)
        .await?
    {
        Rotation::Rotated(_) => false,
        // Another request (a second tab) rotated it a moment ago: this one gets a
        // successor of its own in the same session.
        Rotation::Sibling(_) => true,
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
    };
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
    let event = Event::new(Kind::Refresh)
        .actor(user.id)
        .subject(record.family_id)
        .client(&client.client.id)
        .ip(ip);
    let event = if sibling {
        event.reason("reuse_within_grace")
    } else {
        event
    };
    state.audit.record(event).await;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: Some(next_value),
        scope: issue::join(&granted),
        id_token: None,
    })
}
