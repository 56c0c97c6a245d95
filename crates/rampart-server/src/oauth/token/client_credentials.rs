//! The client_credentials grant (RFC 6749 §4.4).

use std::collections::BTreeSet;

use serde_json::json;

use super::{TokenResponse, scope_error, scope_sets};
use crate::accounts::scopes::{self, ScopeContext};
use crate::audit::{Event, Kind};
use crate::oauth::client_auth::Authenticated;
use crate::oauth::error::OAuthError;
use crate::oauth::issue::{self, Subject};

/// RFC 6749 §4.4: confidential clients only, no refresh token, `sub` = client id.
pub(super) async fn grant(
    state: &super::TokenState,
    ip: std::net::IpAddr,
    client: &Authenticated,
    requested: Option<&BTreeSet<String>>,
) -> Result<TokenResponse, OAuthError> {
    if !client.client.confidential || !client.has_secret() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials is only for confidential clients",
        ));
    }
    // Without a requested scope, `grant` gives a client its allowed scopes and consults
    // neither the known nor the default scopes: no need to read them.
    let (known, defaults) = match requested {
        Some(requested) if !requested.is_empty() => scope_sets(state).await?,
        _ => (BTreeSet::new(), BTreeSet::new()),
    };
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
    .map_err(scope_error(&client.client.id))?;
    let (access_token, expires_in) =
        state
            .issuer
            .access_token(&client.client, &Subject::Client, &granted)?;
    state
        .audit
        .record(
            Event::new(Kind::ClientCredentials)
                .actor(&client.client.id)
                .client(&client.client.id)
                .ip(ip)
                .details(json!({"scope": issue::join(&granted)})),
        )
        .await;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: None,
        scope: issue::join(&granted),
        id_token: None,
    })
}
