//! The authorization endpoint and the login and consent forms behind it.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use rampart::https::ClientIp;
use secrecy::SecretString;

use super::pages::{self, FormState};
use super::{Signin, cookies};
use crate::accounts::codes::CODE_TTL;
use crate::accounts::login::LoginError;
use crate::accounts::scopes::{self, ScopeContext};
use crate::accounts::{GRANTS, Username};
use crate::audit::{Event, Kind};
use crate::oauth::authorize::request::{self, AuthorizeRequest, PageError, Refusal, Registration};
use crate::store::{AuthCode, BrowserSession, Client, StoreError, User};

/// The one message of every failed login (no user enumeration).
pub const LOGIN_FAILED: &str = "The username or password is incorrect.";

/// What a checked authorization request needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the login form.
    Login,
    /// Show the consent form.
    Consent,
    /// Issue a code and send the browser back.
    Issue,
    /// Send the browser back with this error (OIDC Core §3.1.2.6).
    Fail(&'static str, &'static str),
}

/// Facts about the browser's session, for [`next_step`].
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts {
    pub user_id: uuid::Uuid,
    pub auth_time: i64,
}

/// What the `id_token_hint` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    None,
    /// A valid ID token of this server, for this subject.
    Subject(uuid::Uuid),
    Invalid,
}

/// The decision of the authorization endpoint once the request is known good (OIDC
/// Core §3.1.2.3: `prompt`, `max_age`, `id_token_hint`; consent). Pure.
pub fn next_step(
    req: &AuthorizeRequest,
    session: Option<SessionFacts>,
    hint: Hint,
    needs_consent: bool,
    now: i64,
) -> Next {
    if hint == Hint::Invalid {
        return Next::Fail(
            "invalid_request",
            "id_token_hint is not a valid ID token of this server",
        );
    }
    let must_login = match session {
        None => true,
        Some(s) => {
            req.prompt.login
                || req.max_age.is_some_and(|max| {
                    now.saturating_sub(s.auth_time) > i64::try_from(max).unwrap_or(i64::MAX)
                })
                || matches!(hint, Hint::Subject(sub) if sub != s.user_id)
        }
    };
    if must_login {
        return if req.prompt.none {
            Next::Fail("login_required", "the user is not signed in")
        } else {
            Next::Login
        };
    }
    if needs_consent {
        return if req.prompt.none {
            Next::Fail(
                "consent_required",
                "the user has not consented to this client",
            )
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

/// `redirect_uri` with `params` added to its query (RFC 6749 §4.1.2: keep the URI's own
/// query). Pure.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        out.append_pair(name, value);
    }
    let query = out.finish();
    let (base, fragment) = redirect_uri
        .split_once('#')
        .map_or((redirect_uri, None), |(b, f)| (b, Some(f)));
    // A fragment is refused at registration (RFC 6749 §3.1.2); never carry one.
    let _ = fragment;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{query}")
}

/// The origin (`scheme://host[:port]`) of a URI, for the CSP's `form-action`. Pure.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Decoded (name, value) pairs of a query string or form body. Pure.
pub fn pairs_of(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// The pairs as a query string. Pure.
pub fn query_of(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// The request after a login: `prompt=login` has been honoured, and must not send the
/// user to the form again. Pure.
pub fn after_login(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(n, v)| {
            if n != "prompt" {
                return Some((n.clone(), v.clone()));
            }
            let kept: Vec<&str> = v
                .split(' ')
                .filter(|p| !p.is_empty() && *p != "login")
                .collect();
            (!kept.is_empty()).then(|| (n.clone(), kept.join(" ")))
        })
        .collect()
}

/// Whether the form's CSRF field repeats the cookie (constant time). Pure.
pub fn csrf_ok(cookie: Option<&str>, field: Option<&str>) -> bool {
    match (cookie, field) {
        (Some(c), Some(f)) if !c.is_empty() && c.len() == f.len() => {
            aws_lc_rs::constant_time::verify_slices_are_equal(c.as_bytes(), f.as_bytes()).is_ok()
        }
        _ => false,
    }
}

/// A page, or a redirect to the client.
type Answer = Response;

fn error_page(status: StatusCode, message: &str) -> Answer {
    pages::respond(status, pages::error(message), None)
}

fn unavailable() -> Answer {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The sign-in service is unavailable. Try again in a moment.",
    )
}

fn see_other(location: &str) -> Answer {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect URI is not valid."),
    }
}

/// The CSRF secret of this browser: the cookie's, or a new one (and its cookie).
fn csrf_secret(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookies::read(headers, cookies::CSRF).filter(|v| v.len() == 43) {
        Some(value) => (value.to_owned(), None),
        None => {
            let value = crate::secret::random_token(32);
            let cookie = cookies::set(cookies::CSRF, &value, None);
            (value, Some(cookie))
        }
    }
}

fn with_cookies(mut response: Answer, set: impl IntoIterator<Item = HeaderValue>) -> Answer {
    for cookie in set {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The client named by the request, and the request checked against it.
struct Checked {
    client: Client,
    req: AuthorizeRequest,
}

impl Signin {
    /// Checks the request; answers the refusal (an error page, or a redirect with the
    /// error) when it must be refused.
    async fn check(&self, pairs: &[(String, String)]) -> Result<Checked, Answer> {
        let client = match request::client_id(pairs) {
            Ok(id) => match self.accounts.client(id).await {
                Ok(client) => client.filter(|c| !c.disabled),
                Err(e) => {
                    tracing::error!(error = %e, "reading the client failed");
                    return Err(unavailable());
                }
            },
            Err(page) => return Err(error_page(StatusCode::BAD_REQUEST, page.description())),
        };
        let registration = client.as_ref().map(|c| Registration {
            redirect_uris: &c.redirect_uris,
            allows_code: c.grants.iter().any(|g| g == GRANTS_CODE),
        });
        match request::check(pairs, registration) {
            Ok(req) => Ok(Checked {
                client: client.ok_or_else(|| {
                    error_page(
                        StatusCode::BAD_REQUEST,
                        PageError::UnknownClient.description(),
                    )
                })?,
                req,
            }),
            Err(Refusal::Page(page)) => {
                Err(error_page(StatusCode::BAD_REQUEST, page.description()))
            }
            Err(Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state,
            }) => Err(self.fail(&redirect_uri, error, &description, state.as_deref())),
        }
    }

    /// The redirect carrying an error (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
    fn fail(
        &self,
        redirect_uri: &str,
        error: &str,
        description: &str,
        state: Option<&str>,
    ) -> Answer {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", &self.settings.issuer));
        see_other(&redirect_with(redirect_uri, &params))
    }

    pub(super) async fn session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(BrowserSession, User)>, StoreError> {
        match cookies::read(headers, cookies::SESSION) {
            Some(value) => {
                self.accounts
                    .live_browser_session(value, self.lifetimes())
                    .await
            }
            None => Ok(None),
        }
    }

    fn hint(&self, req: &AuthorizeRequest) -> impl std::future::Future<Output = Hint> + '_ {
        let token = req.id_token_hint.clone();
        async move {
            match token {
                None => Hint::None,
                Some(token) => match self.hints.0.validate(&token).await {
                    Ok(claims) => claims
                        .sub
                        .as_deref()
                        .and_then(|s| uuid::Uuid::parse_str(s).ok())
                        .map_or(Hint::Invalid, Hint::Subject),
                    Err(_) => Hint::Invalid,
                },
            }
        }
    }

    /// The scopes this request would grant `user`: requested ∩ the user's roles ∩ the
    /// client's; nothing requested: the defaults.
    async fn granted(
        &self,
        client: &Client,
        req: &AuthorizeRequest,
        user: &User,
    ) -> Result<Result<BTreeSet<String>, String>, StoreError> {
        let all = self.accounts.scopes().await?;
        let known: BTreeSet<String> = all.iter().map(|s| s.name.clone()).collect();
        let defaults: BTreeSet<String> = all
            .iter()
            .filter(|s| s.is_default)
            .map(|s| s.name.clone())
            .collect();
        let held = match self.accounts.user_scopes(user).await {
            Ok(held) => held,
            Err(crate::accounts::AccountError::Store(e)) => return Err(e),
            Err(_) => BTreeSet::new(),
        };
        let allowed: BTreeSet<String> = client.scopes.iter().cloned().collect();
        let requested = (!req.scope.is_empty()).then_some(&req.scope);
        Ok(scopes::grant(
            requested,
            ScopeContext {
                known: &known,
                defaults: &defaults,
                held: Some(&held),
                client_allowed: &allowed,
            },
        )
        .map_err(|refusal| match refusal {
            scopes::ScopeRefusal::Unknown(s) => format!("unknown scope {s}"),
            scopes::ScopeRefusal::NothingGrantable { .. } => {
                "none of the requested scopes may be granted to this user and client".to_owned()
            }
        }))
    }

    /// Everything after the request was checked: the session, `prompt`, consent, the
    /// code. `csrf`: the browser's CSRF secret, for a form.
    async fn proceed(
        &self,
        checked: &Checked,
        pairs: &[(String, String)],
        session: Option<(BrowserSession, User)>,
        csrf: &str,
        login_error: Option<(StatusCode, &str)>,
    ) -> Answer {
        let Checked { client, req } = checked;
        let now = self.accounts.clock.now();
        let origin = origin_of(&req.redirect_uri);
        let hint = self.hint(req).await;
        let facts = session.as_ref().map(|(s, _)| SessionFacts {
            user_id: s.user_id,
            auth_time: s.auth_time,
        });
        let mut granted = BTreeSet::new();
        let mut needs_consent = false;
        if let Some((_, user)) = &session {
            granted = match self.granted(client, req, user).await {
                Ok(Ok(granted)) => granted,
                Ok(Err(description)) => {
                    return self.fail(
                        &req.redirect_uri,
                        "invalid_scope",
                        &description,
                        req.state.as_deref(),
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading scopes failed");
                    return unavailable();
                }
            };
            if !client.first_party {
                needs_consent = req.prompt.consent
                    || match self
                        .accounts
                        .has_consent(user.id, &client.id, &granted)
                        .await
                    {
                        Ok(has) => !has,
                        Err(e) => {
                            tracing::error!(error = %e, "reading consent failed");
                            return unavailable();
                        }
                    };
            }
        }
        let request = query_of(pairs);
        let form = FormState {
            csrf,
            request: &request,
        };
        match next_step(req, facts, hint, needs_consent, now) {
            Next::Fail(error, description) => {
                self.fail(&req.redirect_uri, error, description, req.state.as_deref())
            }
            Next::Login => {
                let (status, error) =
                    login_error.map_or((StatusCode::OK, None), |(s, e)| (s, Some(e)));
                let username = req.login_hint.as_deref();
                pages::respond(
                    status,
                    pages::login(&client.name, &form, username, error),
                    origin.as_deref(),
                )
            }
            Next::Consent => {
                let Some((_, user)) = &session else {
                    return unavailable();
                };
                let described = match self.accounts.scopes().await {
                    Ok(all) => granted
                        .iter()
                        .map(|name| {
                            let description = all
                                .iter()
                                .find(|s| &s.name == name)
                                .map_or_else(|| name.clone(), |s| s.description.clone());
                            (name.clone(), description)
                        })
                        .collect::<Vec<_>>(),
                    Err(_) => return unavailable(),
                };
                pages::respond(
                    StatusCode::OK,
                    pages::consent(&client.name, &user.username, &described, &form),
                    origin.as_deref(),
                )
            }
            Next::Issue => {
                let Some((session, user)) = &session else {
                    return unavailable();
                };
                self.issue(client, req, session, user, &granted).await
            }
        }
    }

    /// Issues the code and sends the browser back with it (RFC 6749 §4.1.2, RFC 9207).
    async fn issue(
        &self,
        client: &Client,
        req: &AuthorizeRequest,
        session: &BrowserSession,
        user: &User,
        granted: &BTreeSet<String>,
    ) -> Answer {
        let now = self.accounts.clock.now();
        let code = AuthCode {
            client_id: client.id.clone(),
            user_id: user.id,
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            scope: crate::oauth::issue::join(granted),
            nonce: req.nonce.clone(),
            auth_time: session.auth_time,
            browser_session: Some(session.id),
            created_at: now,
            expires_at: now + CODE_TTL,
            used_at: None,
            redeemed: None,
        };
        let value = match self.accounts.issue_code(&code).await {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(error = %e, "storing an authorization code failed");
                return unavailable();
            }
        };
        let mut params = vec![("code", value.as_str())];
        if let Some(state) = &req.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.settings.issuer));
        see_other(&redirect_with(&req.redirect_uri, &params))
    }

    async fn authorize(&self, headers: &HeaderMap, pairs: Vec<(String, String)>) -> Answer {
        let checked = match self.check(&pairs).await {
            Ok(checked) => checked,
            Err(answer) => return answer,
        };
        let session = match self.session(headers).await {
            Ok(session) => session,
            Err(e) => {
                tracing::error!(error = %e, "reading the browser session failed");
                return unavailable();
            }
        };
        let (csrf, set_csrf) = csrf_secret(headers);
        let answer = self.proceed(&checked, &pairs, session, &csrf, None).await;
        with_cookies(answer, set_csrf)
    }
}

const GRANTS_CODE: &str = "authorization_code";
const _: () = {
    // The grant name the clients register, spelled once.
    assert!(GRANTS.len() > 1);
};

/// `GET /oauth/authorize` (RFC 6749 §4.1.1).
pub async fn authorize_get(State(signin): State<Signin>, headers: HeaderMap, uri: Uri) -> Answer {
    let pairs = pairs_of(uri.query().unwrap_or_default());
    signin.authorize(&headers, pairs).await
}

/// `POST /oauth/authorize` (OIDC Core §3.1.2.1: form-encoded, the same parameters).
pub async fn authorize_post(
    State(signin): State<Signin>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let Ok(body) = std::str::from_utf8(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The request is not UTF-8.");
    };
    signin.authorize(&headers, pairs_of(body)).await
}

/// A form's fields by name; `None` when the body is not UTF-8 or a field is repeated.
pub fn form_fields(body: &[u8]) -> Option<std::collections::HashMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut fields = std::collections::HashMap::new();
    for (name, value) in pairs_of(text) {
        if fields.insert(name, value).is_some() {
            return None;
        }
    }
    Some(fields)
}

const FORM_EXPIRED: &str =
    "This form has expired or did not come from this site. Go back to the app and start again.";

/// `POST /login`: the password, through the same per-IP limit, lockout and hashing pool
/// as the password grant. Success starts a new session (a new id: no fixation) and
/// continues the authorization request.
pub async fn login(
    State(signin): State<Signin>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let Some(mut fields) = form_fields(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The form is malformed.");
    };
    let cookie = cookies::read(&headers, cookies::CSRF);
    if !csrf_ok(cookie, fields.get("csrf").map(String::as_str)) {
        return error_page(StatusCode::FORBIDDEN, FORM_EXPIRED);
    }
    let csrf = cookie.unwrap_or_default().to_owned();
    let pairs = pairs_of(fields.get("request").map_or("", String::as_str));
    let checked = match signin.check(&pairs).await {
        Ok(checked) => checked,
        Err(answer) => return answer,
    };
    let refuse = |status: StatusCode, message: &str| {
        let pairs = pairs.clone();
        let checked = &checked;
        let signin = &signin;
        let csrf = csrf.clone();
        let message = message.to_owned();
        async move {
            signin
                .proceed(checked, &pairs, None, &csrf, Some((status, &message)))
                .await
        }
    };
    let (Some(username), Some(password)) =
        (fields.get("username").cloned(), fields.remove("password"))
    else {
        return refuse(StatusCode::UNAUTHORIZED, LOGIN_FAILED).await;
    };
    let slot = match signin.login.admit(ip) {
        Ok(slot) => slot,
        Err(e) => return login_refusal(e, refuse).await,
    };
    let Ok(name) = Username::parse(&username) else {
        drop(slot);
        return refuse(StatusCode::UNAUTHORIZED, LOGIN_FAILED).await;
    };
    let password = SecretString::from(password);
    let user = match signin
        .login
        .verify(slot, ip, &checked.client.id, &name, &password)
        .await
    {
        Ok(user) => user,
        Err(e) => return login_refusal(e, refuse).await,
    };
    // No fixation: whatever session this browser had ends; the new one has a new id.
    if let Ok(Some((old, _))) = signin.session(&headers).await {
        let _ = signin.accounts.end_browser_session(old.id).await;
    }
    let (value, session) = match signin
        .accounts
        .start_browser_session(user.id, signin.lifetimes())
        .await
    {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "starting a browser session failed");
            return unavailable();
        }
    };
    signin
        .audit
        .record(
            Event::new(Kind::LoginSucceeded)
                .actor(user.id)
                .subject(session.id)
                .client(&checked.client.id)
                .ip(ip)
                .details(serde_json::json!({"grant": "browser"})),
        )
        .await;
    let pairs = after_login(&pairs);
    let checked = match signin.check(&pairs).await {
        Ok(checked) => checked,
        Err(answer) => return answer,
    };
    // A new CSRF secret with the new session.
    let new_csrf = crate::secret::random_token(32);
    let answer = signin
        .proceed(&checked, &pairs, Some((session, user)), &new_csrf, None)
        .await;
    with_cookies(
        answer,
        [
            cookies::set(cookies::SESSION, &value, Some(signin.settings.session_ttl)),
            cookies::set(cookies::CSRF, &new_csrf, None),
        ],
    )
}

async fn login_refusal<F, Fut>(e: LoginError, refuse: F) -> Answer
where
    F: FnOnce(StatusCode, &str) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    match e {
        LoginError::Incorrect => refuse(StatusCode::UNAUTHORIZED, LOGIN_FAILED).await,
        LoginError::Locked(wait) => {
            let mut answer = refuse(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many attempts. Try again in {wait} seconds."),
            )
            .await;
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                answer.headers_mut().insert(header::RETRY_AFTER, v);
            }
            answer
        }
        LoginError::Busy(wait) => {
            let mut answer = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy. Try again in a moment.",
            )
            .await;
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                answer.headers_mut().insert(header::RETRY_AFTER, v);
            }
            answer
        }
        LoginError::Failed | LoginError::Store(_) => unavailable(),
    }
}

/// `POST /consent`: allow (remembered) or deny (`access_denied`).
pub async fn consent(
    State(signin): State<Signin>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let Some(fields) = form_fields(&body) else {
        return error_page(StatusCode::BAD_REQUEST, "The form is malformed.");
    };
    let cookie = cookies::read(&headers, cookies::CSRF);
    if !csrf_ok(cookie, fields.get("csrf").map(String::as_str)) {
        return error_page(StatusCode::FORBIDDEN, FORM_EXPIRED);
    }
    let csrf = cookie.unwrap_or_default().to_owned();
    let pairs = pairs_of(fields.get("request").map_or("", String::as_str));
    let checked = match signin.check(&pairs).await {
        Ok(checked) => checked,
        Err(answer) => return answer,
    };
    let session = match signin.session(&headers).await {
        Ok(Some(session)) => session,
        // Signed out meanwhile: back to the login form.
        Ok(None) => return signin.proceed(&checked, &pairs, None, &csrf, None).await,
        Err(e) => {
            tracing::error!(error = %e, "reading the browser session failed");
            return unavailable();
        }
    };
    let req = &checked.req;
    match fields.get("decision").map(String::as_str) {
        Some("allow") => {}
        Some("deny") => {
            signin
                .audit
                .record(
                    Event::new(Kind::ConsentDenied)
                        .actor(session.1.id)
                        .client(&checked.client.id)
                        .ip(ip),
                )
                .await;
            return signin.fail(
                &req.redirect_uri,
                "access_denied",
                "the user denied the request",
                req.state.as_deref(),
            );
        }
        _ => return error_page(StatusCode::BAD_REQUEST, "The form is malformed."),
    }
    let granted = match signin.granted(&checked.client, req, &session.1).await {
        Ok(Ok(granted)) => granted,
        Ok(Err(description)) => {
            return signin.fail(
                &req.redirect_uri,
                "invalid_scope",
                &description,
                req.state.as_deref(),
            );
        }
        Err(_) => return unavailable(),
    };
    if let Err(e) = signin
        .accounts
        .grant_consent(session.1.id, &checked.client.id, &granted)
        .await
    {
        tracing::error!(error = %e, "storing consent failed");
        return unavailable();
    }
    signin
        .audit
        .record(
            Event::new(Kind::ConsentGranted)
                .actor(session.1.id)
                .client(&checked.client.id)
                .ip(ip)
                .details(serde_json::json!({"scope": crate::oauth::issue::join(&granted)})),
        )
        .await;
    signin
        .issue(&checked.client, req, &session.0, &session.1, &granted)
        .await
}

#[cfg(test)]
mod tests;
