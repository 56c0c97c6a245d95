//! RP-initiated logout (OpenID RP-Initiated Logout 1.0 §2–§3): the end-session endpoint.
//!
//! A logout is carried out at once only when the request proves it comes from the
//! session's own relying party: an `id_token_hint` this server issued, for the signed-in
//! user (or this very session). Anything else, an unknown or forged hint included, gets a
//! confirmation page (a CSRF-protected form), so a link on another site cannot sign the
//! user out. The browser is sent to `post_logout_redirect_uri` only when the client
//! registered it exactly; otherwise it sees the "signed out" page, never a redirect.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use rampart::https::ClientIp;
use serde::Deserialize;

use super::flow::{csrf_ok, pairs_of, query_of, redirect_with};
use super::{Signin, cookies, pages};
use crate::audit::{Event, Kind};
use crate::store::Client;

/// What a logout request said, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Where to send the browser afterwards (registered by the client, exact match).
    pub redirect: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// What the `id_token_hint` proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintClaims {
    pub sub: String,
    pub aud: String,
    pub sid: Option<String>,
}

/// Why a logout request is refused outright (an error page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutError {
    /// `client_id` and the hint's audience differ.
    ClientMismatch,
    /// `post_logout_redirect_uri` without a client to check it against.
    RedirectWithoutClient,
    /// Not registered by the client (or the client is unknown).
    UnregisteredRedirect,
    Repeated,
}

impl LogoutError {
    pub fn description(self) -> &'static str {
        match self {
            Self::ClientMismatch => "client_id does not match the id_token_hint.",
            Self::RedirectWithoutClient => {
                "post_logout_redirect_uri needs client_id or id_token_hint to identify the app."
            }
            Self::UnregisteredRedirect => {
                "The post_logout_redirect_uri is not one the app registered."
            }
            Self::Repeated => "A parameter is repeated.",
        }
    }
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, LogoutError> {
    let mut found = pairs.iter().filter(|(n, _)| n == name);
    match (found.next(), found.next()) {
        (_, Some(_)) => Err(LogoutError::Repeated),
        (Some((_, v)), None) if !v.is_empty() => Ok(Some(v)),
        _ => Ok(None),
    }
}

/// Checks the parameters against the hint and the client. Pure.
pub fn check(
    pairs: &[(String, String)],
    hint: Option<&HintClaims>,
    client: Option<&Client>,
) -> Result<LogoutRequest, LogoutError> {
    let client_id = one(pairs, "client_id")?;
    let redirect = one(pairs, "post_logout_redirect_uri")?;
    let state = one(pairs, "state")?;
    one(pairs, "id_token_hint")?;
    if let (Some(id), Some(hint)) = (client_id, hint)
        && id != hint.aud
    {
        return Err(LogoutError::ClientMismatch);
    }
    let client_id = client_id
        .map(str::to_owned)
        .or_else(|| hint.map(|h| h.aud.clone()));
    if let Some(uri) = redirect {
        if client_id.is_none() {
            return Err(LogoutError::RedirectWithoutClient);
        }
        let registered = client.is_some_and(|c| {
            Some(c.id.as_str()) == client_id.as_deref()
                && c.post_logout_redirect_uris.iter().any(|r| r == uri)
        });
        if !registered {
            return Err(LogoutError::UnregisteredRedirect);
        }
    }
    Ok(LogoutRequest {
        redirect: redirect.map(str::to_owned),
        state: state.map(str::to_owned),
        client_id,
    })
}

/// Whether the hint proves the request comes from the app of this browser's session:
/// issued to the signed-in user, and for this session when it names one. Pure.
pub fn trusted(
    hint: Option<&HintClaims>,
    session_user: uuid::Uuid,
    session_id: uuid::Uuid,
) -> bool {
    hint.is_some_and(|h| {
        h.sub == session_user.to_string()
            && h.sid
                .as_deref()
                .is_none_or(|sid| sid == session_id.to_string())
    })
}

#[derive(Deserialize)]
struct HintShape {
    sub: String,
    aud: Audience,
    sid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Signin {
    async fn hint_claims(&self, pairs: &[(String, String)]) -> Option<HintClaims> {
        let token = one(pairs, "id_token_hint").ok().flatten()?;
        let (_, shape): (_, HintShape) = self.hints.0.validate_as(token).await.ok()?;
        let aud = match shape.aud {
            Audience::One(a) => a,
            Audience::Many(list) => list.into_iter().next()?,
        };
        Some(HintClaims {
            sub: shape.sub,
            aud,
            sid: shape.sid,
        })
    }

    async fn end(
        &self,
        headers: &HeaderMap,
        ip: std::net::IpAddr,
        reason: &'static str,
        request: &LogoutRequest,
    ) -> Response {
        if let Ok(Some((session, user))) = self.session(headers).await {
            if let Err(e) = self.accounts.log_out(session.id).await {
                tracing::error!(error = %e, "ending a browser session failed");
                return pages::respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    pages::error("The sign-in service is unavailable. Try again in a moment."),
                    None,
                );
            }
            let mut event = Event::new(Kind::Logout)
                .actor(user.id)
                .subject(session.id)
                .ip(ip)
                .reason(reason);
            if let Some(client) = &request.client_id {
                event = event.client(client);
            }
            self.audit.record(event).await;
        }
        let mut response = match &request.redirect {
            Some(uri) => {
                let mut params = Vec::new();
                if let Some(state) = &request.state {
                    params.push(("state", state.as_str()));
                }
                let location = if params.is_empty() {
                    uri.clone()
                } else {
                    redirect_with(uri, &params)
                };
                match HeaderValue::from_str(&location) {
                    Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
                    Err(_) => pages::respond(StatusCode::OK, pages::signed_out(), None),
                }
            }
            None => pages::respond(StatusCode::OK, pages::signed_out(), None),
        };
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
        response
    }

    async fn logout(
        &self,
        headers: &HeaderMap,
        ip: std::net::IpAddr,
        pairs: Vec<(String, String)>,
    ) -> Response {
        let hint = self.hint_claims(&pairs).await;
        let named = one(&pairs, "client_id")
            .ok()
            .flatten()
            .map(str::to_owned)
            .or_else(|| hint.as_ref().map(|h| h.aud.clone()));
        let client = match named {
            Some(id) => self.accounts.client(&id).await.ok().flatten(),
            None => None,
        };
        let request = match check(&pairs, hint.as_ref(), client.as_ref()) {
            Ok(request) => request,
            Err(e) => {
                return pages::respond(
                    StatusCode::BAD_REQUEST,
                    pages::error(e.description()),
                    None,
                );
            }
        };
        let session = self.session(headers).await.ok().flatten();
        let Some((session, user)) = session else {
            // Nobody is signed in here: nothing to end, nothing to confirm.
            return self.end(headers, ip, "no_session", &request).await;
        };
        if trusted(hint.as_ref(), user.id, session.id) {
            return self.end(headers, ip, "id_token_hint", &request).await;
        }
        let (csrf, set) = match cookies::read(headers, cookies::CSRF).filter(|v| v.len() == 43) {
            Some(v) => (v.to_owned(), None),
            None => {
                let v = crate::secret::random_token(32);
                let c = cookies::set(cookies::CSRF, &v, None);
                (v, Some(c))
            }
        };
        // The confirmation form repeats the request, minus the hint it could not trust.
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(n, _)| n != "id_token_hint")
            .collect();
        let origin = request.redirect.as_deref().and_then(super::flow::origin_of);
        let mut response = pages::respond(
            StatusCode::OK,
            pages::logout_confirm(
                &csrf,
                &query_of(&kept),
                client.as_ref().map(|c| c.name.as_str()),
            ),
            origin.as_deref(),
        );
        if let Some(cookie) = set {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// `GET /logout`.
pub async fn logout_get(
    State(signin): State<Signin>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    signin
        .logout(&headers, ip, pairs_of(uri.query().unwrap_or_default()))
        .await
}

/// `POST /logout`: the parameters form-encoded, or the confirmation form.
pub async fn logout_post(
    State(signin): State<Signin>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("The request is not UTF-8."),
            None,
        );
    };
    let pairs = pairs_of(text);
    if !pairs.iter().any(|(n, _)| n == "decision") {
        return signin.logout(&headers, ip, pairs).await;
    }
    let Some(form) = super::flow::form_fields(&body) else {
        return pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("The form is malformed."),
            None,
        );
    };
    if !csrf_ok(
        cookies::read(&headers, cookies::CSRF),
        form.get("csrf").map(String::as_str),
    ) {
        return pages::respond(
            StatusCode::FORBIDDEN,
            pages::error("This form has expired or did not come from this site."),
            None,
        );
    }
    let pairs = pairs_of(form.get("request").map_or("", String::as_str));
    let named = one(&pairs, "client_id").ok().flatten().map(str::to_owned);
    let client = match named {
        Some(id) => signin.accounts.client(&id).await.ok().flatten(),
        None => None,
    };
    let request = match check(&pairs, None, client.as_ref()) {
        Ok(request) => request,
        Err(e) => {
            return pages::respond(StatusCode::BAD_REQUEST, pages::error(e.description()), None);
        }
    };
    match form.get("decision").map(String::as_str) {
        Some("logout") => signin.end(&headers, ip, "confirmed", &request).await,
        _ => pages::respond(StatusCode::OK, pages::still_signed_in(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn client() -> Client {
        Client {
            id: "web".into(),
            name: "Web".into(),
            confidential: false,
            secret_hash: None,
            grants: vec![],
            scopes: vec![],
            audience: None,
            disabled: false,
            created_at: 0,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            first_party: false,
            auth_method: crate::store::AuthMethod::None,
            access_token_ttl: None,
            refresh_token_ttl: None,
            logout_revokes_tokens: false,
        }
    }

    #[allow(clippy::type_complexity)]
    #[test]
    fn logout_requests() {
        let hint = HintClaims {
            sub: "u".into(),
            aud: "web".into(),
            sid: None,
        };
        let web = client();
        let bye = "https://app.example/bye";
        let cases: Vec<(
            &str,
            Vec<(String, String)>,
            Option<&HintClaims>,
            Option<&Client>,
            Result<Option<&str>, LogoutError>,
        )> = vec![
            ("nothing", pairs(&[]), None, None, Ok(None)),
            (
                "registered redirect by client_id",
                pairs(&[("client_id", "web"), ("post_logout_redirect_uri", bye)]),
                None,
                Some(&web),
                Ok(Some(bye)),
            ),
            (
                "registered redirect by hint",
                pairs(&[("post_logout_redirect_uri", bye)]),
                Some(&hint),
                Some(&web),
                Ok(Some(bye)),
            ),
            (
                "redirect without a client",
                pairs(&[("post_logout_redirect_uri", bye)]),
                None,
                None,
                Err(LogoutError::RedirectWithoutClient),
            ),
            (
                "unregistered redirect",
                pairs(&[
                    ("client_id", "web"),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ]),
                None,
                Some(&web),
                Err(LogoutError::UnregisteredRedirect),
            ),
            (
                "redirect with a suffix",
                pairs(&[
                    ("client_id", "web"),
                    ("post_logout_redirect_uri", "https://app.example/bye/x"),
                ]),
                None,
                Some(&web),
                Err(LogoutError::UnregisteredRedirect),
            ),
            (
                "unknown client",
                pairs(&[("client_id", "other"), ("post_logout_redirect_uri", bye)]),
                None,
                None,
                Err(LogoutError::UnregisteredRedirect),
            ),
            (
                "client_id differs from the hint",
                pairs(&[("client_id", "other")]),
                Some(&hint),
                Some(&web),
                Err(LogoutError::ClientMismatch),
            ),
            (
                "repeated redirect",
                pairs(&[
                    ("client_id", "web"),
                    ("post_logout_redirect_uri", bye),
                    ("post_logout_redirect_uri", bye),
                ]),
                None,
                Some(&web),
                Err(LogoutError::Repeated),
            ),
        ];
        for (name, p, h, c, expected) in cases {
            let got = check(&p, h, c).map(|r| r.redirect);
            assert_eq!(
                got.as_ref().map(|r| r.as_deref()),
                expected.as_ref().map(|r| *r),
                "{name}"
            );
        }
    }

    #[test]
    fn only_a_hint_for_this_session_is_trusted() {
        let user = uuid::Uuid::from_u128(1);
        let session = uuid::Uuid::from_u128(2);
        let hint = |sub: uuid::Uuid, sid: Option<uuid::Uuid>| HintClaims {
            sub: sub.to_string(),
            aud: "web".into(),
            sid: sid.map(|s| s.to_string()),
        };
        let cases = [
            ("no hint", None, false),
            ("this user, no sid", Some(hint(user, None)), true),
            (
                "this user, this session",
                Some(hint(user, Some(session))),
                true,
            ),
            (
                "this user, another session",
                Some(hint(user, Some(uuid::Uuid::from_u128(3)))),
                false,
            ),
            (
                "another user",
                Some(hint(uuid::Uuid::from_u128(9), None)),
                false,
            ),
        ];
        for (name, h, expected) in cases {
            assert_eq!(trusted(h.as_ref(), user, session), expected, "{name}");
        }
    }
}
