//! `POST /oauth/token` (RFC 6749 §3.2): the password, refresh_token and
//! client_credentials grants.

use std::collections::BTreeSet;
use std::sync::Arc;

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
use super::rotation::{self, Rotation};
use crate::accounts::Username;
use crate::accounts::passwords::HashError;
use crate::accounts::pool::Slot;
use crate::accounts::scopes::{self, ScopeContext, ScopeRefusal};
use crate::accounts::throttle::Subject as Throttled;
use crate::audit::{Event, Kind};
use crate::state::AppState;
use crate::store::{RefreshStore, User};
use rampart::https::ClientIp;
use serde_json::json;
use uuid::Uuid;

/// RFC 6749 §5.1 success body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6IuKApiIsInR5cCI6ImF0K2p3dCJ9.…", "token_type": "Bearer", "expires_in": 900, "refresh_token": "k3Jx…", "scope": "profile"}))]
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
///
/// `password` (RFC 6749 §4.3): `username`, `password`, optional `scope`; no client
/// identification = the public client `first-party`. `refresh_token` (§6): rotated on every
/// use, reuse revokes the family. `client_credentials` (§4.4): confidential clients only.
/// Granted scopes = requested ∩ the user's roles' scopes ∩ the client's scopes.
#[utoipa::path(post, path = "/oauth/token", operation_id = "token",
    summary = "Get tokens (password, refresh_token, client_credentials grants)", tag = "oauth",
    request_body(content = crate::docs::schemas::TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "The tokens (RFC 6749 §5.1)", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"), ("Pragma" = String, description = "`no-cache`"))),
        (status = 400, response = crate::docs::schemas::OAuthBadRequest),
        (status = 401, response = crate::docs::schemas::InvalidClient),
        (status = 413, response = crate::docs::schemas::FormTooLarge),
        (status = 429, response = crate::docs::schemas::TooManyAttempts),
        (status = 503, response = crate::docs::schemas::OAuthUnavailable),
    ))]
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
    // A password attempt is admitted before anything reads the store: the per-IP rate
    // limit (in memory), then a place on the hashing pool; see `admit_password_attempt`.
    let slot = match grant_type {
        "password" => Some(admit_password_attempt(&state, ip)?),
        _ => None,
    };
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
    // `slot` is `Some` exactly for the password grant.
    let result = match (grant_type, slot) {
        (_, Some(slot)) => password(&state, ip, &client, &params, requested.as_ref(), slot).await,
        ("refresh_token", None) => refresh(&state, ip, &client, &params, requested.as_ref()).await,
        _ => client_credentials(&state, ip, &client, requested.as_ref()).await,
    };
    result.map_err(|e| {
        if e.code == "invalid_client" {
            OAuthError::invalid_client(basic)
        } else {
            e
        }
    })
}

/// Counts a failure against each subject and audits every lock it causes.
pub(crate) async fn record_lockouts(
    state: &AppState,
    subjects: &[Throttled],
    ip: std::net::IpAddr,
) -> Result<(), OAuthError> {
    for (subject, lock) in state.throttle.failed(subjects).await? {
        let (who, what) = match &subject {
            Throttled::Ip(ip) => ("ip", ip.to_string()),
            Throttled::Account(name) => ("account", name.clone()),
            Throttled::Client(id) => ("client", id.clone()),
            Throttled::ClientAtIp(id, _) => ("client_at_ip", id.clone()),
        };
        state
            .audit
            .record(
                Event::new(Kind::Lockout)
                    .subject(what)
                    .ip(ip)
                    .reason("repeated_failures")
                    .details(json!({"kind": who, "seconds": lock.as_secs()})),
            )
            .await;
    }
    Ok(())
}

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

/// `invalid_scope` saying which scope failed and how to allow it (the requester has
/// authenticated; the rules are the administrator's, not secrets).
fn scope_error(client_id: &str) -> impl Fn(ScopeRefusal) -> OAuthError + '_ {
    move |refusal| match refusal {
        ScopeRefusal::Unknown(s) => OAuthError::invalid_scope(format!(
            "unknown scope {s} (an administrator creates it: PUT /admin/scopes/{s} or rampart scope create {s})"
        )),
        ScopeRefusal::NothingGrantable {
            client_refuses,
            not_held,
        } => {
            let mut parts = Vec::new();
            if !client_refuses.is_empty() {
                parts.push(format!(
                    "the client {client_id} may not be granted {} (allow it with PATCH /admin/clients/{client_id} {{\"scopes\": [...]}})",
                    client_refuses.join(" ")
                ));
            }
            if !not_held.is_empty() {
                parts.push(format!("no role of this user holds {}", not_held.join(" ")));
            }
            OAuthError::invalid_scope(format!(
                "none of the requested scopes may be granted: {}",
                parts.join("; ")
            ))
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

/// Admits a password-grant attempt before any store lookup: the per-IP rate limit (429),
/// then a place on the hashing pool (503 when its queue is full or its CPU budget spent).
///
/// Every later step reads the store: the client, the failure-backoff standing, the user.
/// Reserving the hashing place first means that under a login flood the attempts the pool
/// would refuse anyway are refused at the cost of parsing them, and the flood costs the
/// store nothing. The place (and its budget charge) is given back if the attempt stops
/// earlier, e.g. at client authentication or a locked account.
fn admit_password_attempt(state: &AppState, ip: std::net::IpAddr) -> Result<Slot, OAuthError> {
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
/// hashing pool from [`admit_password_attempt`].
async fn password(
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

/// RFC 6749 §6, with rotation and reuse detection (RFC 9700 §4.14.2).
async fn refresh(
    state: &AppState,
    ip: std::net::IpAddr,
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
        state.accounts.revoke_session(record.family_id).await?;
        return Err(invalid());
    };
    let (next_value, next_hash, next_row) = issue::new_refresh(
        state,
        &client.client.id,
        user.id,
        &record.scope,
        record.family_id,
    );
    let now = state.accounts.clock.now();
    let refresh_store: Arc<dyn RefreshStore> = Arc::clone(store) as Arc<dyn RefreshStore>;
    match rotation::rotate(
        refresh_store,
        &hash,
        &client.client.id,
        &next_row,
        &next_hash,
        now,
    )
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
    let (access_token, expires_in) = issue::access_token(
        state,
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

/// RFC 6749 §4.4: confidential clients only, no refresh token, `sub` = client id.
async fn client_credentials(
    state: &AppState,
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
        issue::access_token(state, &client.client, &Subject::Client, &granted)?;
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
    })
}
