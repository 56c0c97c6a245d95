//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, or a public client
//! identified by `client_id`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, header};

use super::error::OAuthError;
use super::form::Params;
use crate::accounts::client_id::plausible_client_id;
use crate::accounts::login::Login;
use crate::accounts::throttle::{Counter, Throttle};
use crate::accounts::{Accounts, FIRST_PARTY_CLIENT};
use crate::audit::{Audit, Event, Kind};
use crate::secret;
use crate::state::AppState;
use crate::store::{AuthMethod, Client};
use axum::extract::FromRef;
use std::net::IpAddr;

/// How the client identified itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// HTTP Basic with id and secret.
    Basic,
    /// `client_id` and `client_secret` in the body.
    Post,
    /// A public client: `client_id` only.
    Public,
    /// Nothing at all: the built-in first-party client.
    FirstParty,
}

/// A client that proved who it is (or a public client that named itself).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Client,
    pub method: Method,
}

impl Authenticated {
    /// True when the client proved possession of a secret.
    pub fn has_secret(&self) -> bool {
        matches!(self.method, Method::Basic | Method::Post)
    }
    /// True when Basic was used (errors then carry a Basic challenge).
    pub fn used_basic(&self) -> bool {
        self.method == Method::Basic
    }
}

/// Whether a client registered with `registered` may authenticate the way it did
/// (RFC 7591 §2: one method per client, as Hydra enforces; a leaked secret then works
/// only the way the client itself sends it). Basic with an empty secret is how many
/// libraries identify a public client, so it counts as `none`. Pure.
pub fn method_allowed(registered: AuthMethod, used: Method, presents_secret: bool) -> bool {
    match (registered, used) {
        (AuthMethod::ClientSecretBasic, Method::Basic) => presents_secret,
        (AuthMethod::ClientSecretPost, Method::Post) => true,
        (AuthMethod::None, Method::Public | Method::FirstParty) => true,
        (AuthMethod::None, Method::Basic) => !presents_secret,
        _ => false,
    }
}

/// The credentials in a request, before any lookup.
fn credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Option<(String, String)>, Method), OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| OAuthError::invalid_client(true))?;
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::invalid_request(
                    "only HTTP Basic client authentication is supported here",
                ));
            }
            let decoded = STANDARD
                .decode(rest.trim())
                .map_err(|_| OAuthError::invalid_client(true))?;
            let decoded =
                String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client(true))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client(true))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            let id = super::form::decode(id).ok_or_else(|| OAuthError::invalid_client(true))?;
            let secret =
                super::form::decode(secret).ok_or_else(|| OAuthError::invalid_client(true))?;
            Some((id, secret))
        }
    };
    let post_secret = params.get("client_secret");
    match (basic, post_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        )),
        (Some((id, secret)), None) => {
            if params.get("client_id").is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            Ok((Some((id, secret)), Method::Basic))
        }
        (None, Some(secret)) => {
            let id = params.require("client_id")?;
            Ok((Some((id.to_owned(), secret.to_owned())), Method::Post))
        }
        (None, None) => match params.get("client_id") {
            Some(id) => Ok((Some((id.to_owned(), String::new())), Method::Public)),
            None => Ok((None, Method::FirstParty)),
        },
    }
}

/// What client authentication needs: the clients, the failure backoff, the audit trail,
/// and the login policy that counts failures and locks.
#[derive(Clone)]
pub struct ClientAuth {
    accounts: Accounts,
    throttle: Throttle,
    audit: Audit,
    login: Login,
}

impl FromRef<AppState> for ClientAuth {
    fn from_ref(state: &AppState) -> Self {
        Self {
            accounts: state.accounts.clone(),
            throttle: state.throttle.clone(),
            audit: state.audit.clone(),
            login: state.login.clone(),
        }
    }
}

/// Audits a failed authentication of the existing client `id`.
async fn audit_failure(audit: &Audit, id: &str, ip: IpAddr, reason: &'static str) {
    audit
        .record(
            Event::new(Kind::ClientAuthFailed)
                .subject(id)
                .client(id)
                .ip(ip)
                .reason(reason),
        )
        .await;
}

/// Authenticates the client of a request. A request without any client identification
/// is the first-party public client (ARCHITECTURE.md), when it is enabled.
pub async fn authenticate(
    state: &ClientAuth,
    ip: IpAddr,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Authenticated, OAuthError> {
    let (creds, method) = credentials(headers, params)?;
    let basic = method == Method::Basic;
    let (id, secret) = creds.unwrap_or_else(|| (FIRST_PARTY_CLIENT.to_owned(), String::new()));
    let presents_secret = !secret.is_empty();
    // An id no client can have is refused before any lookup or write: the throttle keys
    // and the audit trail never hold attacker-chosen strings of any length.
    if !plausible_client_id(&id) {
        return Err(OAuthError::invalid_client(basic));
    }
    let subjects = [
        Counter::ClientAtIp(id.clone(), ip),
        Counter::Client(id.clone()),
        Counter::Ip(ip),
    ];
    let standing = if presents_secret {
        let standing = state.throttle.standing(&subjects).await?;
        if let Err(wait) = standing.locked() {
            return Err(OAuthError::too_many(wait));
        }
        Some(standing)
    } else {
        None
    };
    let client = state.accounts.client(&id).await?;
    let Some(client) = client.filter(|c| !c.disabled) else {
        if presents_secret {
            state
                .audit
                .record(
                    Event::new(Kind::ClientAuthFailed)
                        .subject(&id)
                        .ip(ip)
                        .reason("unknown_client"),
                )
                .await;
            state.login.record_failure(&subjects, ip).await?;
        }
        return Err(OAuthError::invalid_client(basic));
    };
    if !method_allowed(client.auth_method, method, presents_secret) {
        // Not a guess at the secret (none was checked): refused without counting, and
        // audited when a secret came with it (a client misconfigured, or a leaked secret
        // tried the other way).
        if presents_secret {
            audit_failure(&state.audit, &id, ip, "wrong_auth_method").await;
        }
        return Err(OAuthError::invalid_client(basic));
    }
    match method {
        // Many OAuth libraries (requests-oauthlib, authlib) identify a public client with
        // HTTP Basic and an empty password; that is identification, not authentication.
        Method::Basic if secret.is_empty() && !client.confidential => {
            return Ok(Authenticated {
                client,
                method: Method::Public,
            });
        }
        Method::Basic | Method::Post => {
            let ok = client
                .secret_hash
                .as_deref()
                .is_some_and(|hash| secret::matches_digest(&secret, hash));
            if !ok {
                audit_failure(&state.audit, &id, ip, "wrong_secret").await;
                state.login.record_failure(&subjects, ip).await?;
                return Err(OAuthError::invalid_client(basic));
            }
            for subject in &subjects[..2] {
                state
                    .throttle
                    .succeeded_after(standing.as_ref(), subject)
                    .await?;
            }
        }
        // A confidential client must authenticate (RFC 6749 §3.2.1).
        Method::Public | Method::FirstParty if client.confidential => {
            return Err(OAuthError::invalid_client(false));
        }
        Method::Public | Method::FirstParty => {}
    }
    Ok(Authenticated { client, method })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        Params::parse(&headers, body.as_bytes()).unwrap()
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn the_auth_method_table() {
        use AuthMethod::{ClientSecretBasic, ClientSecretPost, None as Public};
        let cases = [
            (
                "basic client, Basic",
                ClientSecretBasic,
                Method::Basic,
                true,
                true,
            ),
            (
                "basic client, post",
                ClientSecretBasic,
                Method::Post,
                true,
                false,
            ),
            (
                "basic client, Basic without a secret",
                ClientSecretBasic,
                Method::Basic,
                false,
                false,
            ),
            (
                "basic client, no secret",
                ClientSecretBasic,
                Method::Public,
                false,
                false,
            ),
            (
                "post client, post",
                ClientSecretPost,
                Method::Post,
                true,
                true,
            ),
            (
                "post client, Basic",
                ClientSecretPost,
                Method::Basic,
                true,
                false,
            ),
            (
                "post client, no secret",
                ClientSecretPost,
                Method::Public,
                false,
                false,
            ),
            (
                "public client, client_id",
                Public,
                Method::Public,
                false,
                true,
            ),
            (
                "public client, nothing (first-party)",
                Public,
                Method::FirstParty,
                false,
                true,
            ),
            (
                "public client, Basic with an empty secret",
                Public,
                Method::Basic,
                false,
                true,
            ),
            (
                "public client, Basic with a secret",
                Public,
                Method::Basic,
                true,
                false,
            ),
            (
                "public client, client_secret",
                Public,
                Method::Post,
                true,
                false,
            ),
        ];
        for (name, registered, used, presents_secret, expected) in cases {
            assert_eq!(
                method_allowed(registered, used, presents_secret),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn the_credentials_table() {
        let none = HeaderMap::new();
        assert_eq!(
            credentials(&none, &params("")).unwrap(),
            (None, Method::FirstParty)
        );
        assert_eq!(
            credentials(&none, &params("client_id=a")).unwrap(),
            (Some(("a".into(), String::new())), Method::Public)
        );
        assert_eq!(
            credentials(&none, &params("client_id=a&client_secret=s")).unwrap(),
            (Some(("a".into(), "s".into())), Method::Post)
        );
        assert_eq!(
            credentials(&basic("a", "s"), &params("")).unwrap(),
            (Some(("a".into(), "s".into())), Method::Basic)
        );
        // §2.3.1: form-urlencoded inside Basic.
        assert_eq!(
            credentials(&basic("a%3Ab", "s%2Bx+y"), &params(""))
                .unwrap()
                .0,
            Some(("a:b".into(), "s+x y".into()))
        );
        assert_eq!(
            credentials(&basic("a", "s"), &params("client_secret=s"))
                .unwrap_err()
                .code,
            "invalid_request"
        );
        assert_eq!(
            credentials(&basic("a", "s"), &params("client_id=b"))
                .unwrap_err()
                .code,
            "invalid_request"
        );
        assert_eq!(
            credentials(&none, &params("client_secret=s"))
                .unwrap_err()
                .code,
            "invalid_request"
        );
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(
            credentials(&garbage, &params("")).unwrap_err().code,
            "invalid_client"
        );
    }
}
