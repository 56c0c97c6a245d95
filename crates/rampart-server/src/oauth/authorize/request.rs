//! What an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1)
//! asks for, and whether it may be answered at all. Pure: the handler looks the client up
//! between [`client_id`] and [`check`], and renders or redirects what [`check`] decides.
//!
//! RFC 6749 §4.1.2.1 splits the refusals in two. While the client or the redirect URI is
//! in doubt (missing, repeated, unknown, unregistered) the user agent must not be sent
//! anywhere: [`Refusal::Page`]. Once both are known good, every other error goes back to
//! the client at its redirect URI: [`Refusal::Redirect`].

use std::collections::BTreeSet;

use super::super::pkce;
use crate::accounts::redirect_uri;

/// The parameters this endpoint reads; each may appear once (RFC 6749 §3.1).
const KNOWN: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "response_mode",
    "request",
    "request_uri",
    "resource",
];

/// The longest `state` or `nonce` accepted (they are stored and echoed).
pub const MAX_ECHOED_BYTES: usize = 512;

/// An error shown on the server's own page: nothing is trusted enough to redirect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    MissingClientId,
    RepeatedClientId,
    UnknownClient,
    MissingRedirectUri,
    RepeatedRedirectUri,
    UnregisteredRedirectUri,
}

impl PageError {
    /// The sentence on the error page (never the presented values).
    pub fn description(self) -> &'static str {
        match self {
            Self::MissingClientId => "The request does not name a client (client_id).",
            Self::RepeatedClientId => "The request names its client more than once.",
            Self::UnknownClient => "The client is not known here, or is disabled.",
            Self::MissingRedirectUri => "The request has no redirect_uri.",
            Self::RepeatedRedirectUri => "The request has more than one redirect_uri.",
            Self::UnregisteredRedirectUri => "The redirect_uri is not one the client registered.",
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Render an error page; do not redirect.
    Page(PageError),
    /// Redirect to `redirect_uri` with `error`, `error_description`, `state` and `iss`
    /// (RFC 6749 §4.1.2.1, RFC 9207).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

/// What the client registered, as far as this decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    pub redirect_uris: &'a [String],
    /// The client may use the `authorization_code` grant.
    pub allows_code: bool,
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// An authorization request that may proceed to login and consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    /// As presented (for a loopback redirect, with its port), which the token request must
    /// repeat exactly.
    pub redirect_uri: String,
    pub scope: BTreeSet<String>,
    pub state: Option<String>,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
}

/// The parameters as (name, value) pairs, decoded, in order; empty values count as
/// missing (RFC 6749 §3.1) but still count as a repetition.
pub type Pairs = [(String, String)];

enum Lookup<'a> {
    Missing,
    Repeated,
    One(&'a str),
}

fn lookup<'a>(pairs: &'a Pairs, name: &str) -> Lookup<'a> {
    let mut found = pairs.iter().filter(|(n, _)| n == name);
    match (found.next(), found.next()) {
        (None, _) => Lookup::Missing,
        (Some(_), Some(_)) => Lookup::Repeated,
        (Some((_, v)), None) if v.is_empty() => Lookup::Missing,
        (Some((_, v)), None) => Lookup::One(v),
    }
}

/// Step 1, before the client lookup: the one `client_id`.
pub fn client_id(pairs: &Pairs) -> Result<&str, PageError> {
    match lookup(pairs, "client_id") {
        Lookup::Missing => Err(PageError::MissingClientId),
        Lookup::Repeated => Err(PageError::RepeatedClientId),
        Lookup::One(id) => Ok(id),
    }
}

/// Step 2, with what the store said of that client (`None`: unknown or disabled).
pub fn check(
    pairs: &Pairs,
    registration: Option<Registration<'_>>,
) -> Result<AuthorizeRequest, Refusal> {
    let client_id = client_id(pairs).map_err(Refusal::Page)?;
    let registration = registration.ok_or(Refusal::Page(PageError::UnknownClient))?;
    let redirect_uri = match lookup(pairs, "redirect_uri") {
        Lookup::Missing => return Err(Refusal::Page(PageError::MissingRedirectUri)),
        Lookup::Repeated => return Err(Refusal::Page(PageError::RepeatedRedirectUri)),
        Lookup::One(uri) => uri,
    };
    if redirect_uri::find_match(registration.redirect_uris, redirect_uri).is_none() {
        return Err(Refusal::Page(PageError::UnregisteredRedirectUri));
    }
    // From here on the client hears of every error. A repeated or oversized `state` is
    // not echoed (which one would be?), and the request fails for it.
    let state_param = lookup(pairs, "state");
    let state = match state_param {
        Lookup::One(s) if s.len() <= MAX_ECHOED_BYTES => Some(s.to_owned()),
        _ => None,
    };
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        error,
        description,
        state: state.clone(),
    };
    let invalid = |description: &str| refuse("invalid_request", description.to_owned());
    if let Some(name) = KNOWN
        .iter()
        .find(|name| matches!(lookup(pairs, name), Lookup::Repeated))
    {
        return Err(invalid(&format!("the parameter {name} is repeated")));
    }
    if matches!(state_param, Lookup::One(s) if s.len() > MAX_ECHOED_BYTES) {
        return Err(invalid("state is longer than 512 bytes"));
    }
    match lookup(pairs, "response_type") {
        Lookup::One("code") => {}
        Lookup::One(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported".to_owned(),
            ));
        }
        _ => return Err(invalid("response_type is required")),
    }
    if !registration.allows_code {
        return Err(refuse(
            "unauthorized_client",
            "this client may not use the authorization code grant".to_owned(),
        ));
    }
    // OIDC Core §6: request objects are not supported, and say so by name.
    if !matches!(lookup(pairs, "request"), Lookup::Missing) {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported".to_owned(),
        ));
    }
    if !matches!(lookup(pairs, "request_uri"), Lookup::Missing) {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported".to_owned(),
        ));
    }
    match lookup(pairs, "response_mode") {
        Lookup::Missing | Lookup::One("query") => {}
        _ => return Err(invalid("only response_mode=query is supported")),
    }
    let challenge = one(pairs, "code_challenge");
    let method = one(pairs, "code_challenge_method");
    let code_challenge = pkce::check_challenge(challenge, method)
        .map_err(|e| invalid(e.description()))?
        .to_owned();
    let nonce = one(pairs, "nonce");
    if nonce.is_some_and(|n| n.len() > MAX_ECHOED_BYTES) {
        return Err(invalid("nonce is longer than 512 bytes"));
    }
    let prompt = parse_prompt(one(pairs, "prompt")).map_err(invalid)?;
    let max_age = match one(pairs, "max_age") {
        None => None,
        Some(text) => Some(
            parse_max_age(text).ok_or_else(|| invalid("max_age must be a non-negative integer"))?,
        ),
    };
    Ok(AuthorizeRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: one(pairs, "scope")
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        state,
        code_challenge,
        nonce: nonce.map(str::to_owned),
        prompt,
        max_age,
        login_hint: one(pairs, "login_hint").map(str::to_owned),
        id_token_hint: one(pairs, "id_token_hint").map(str::to_owned),
    })
}

/// A parameter already known not to be repeated.
fn one<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    match lookup(pairs, name) {
        Lookup::One(v) => Some(v),
        Lookup::Missing | Lookup::Repeated => None,
    }
}

/// OIDC Core §3.1.2.1: space-separated `none`, `login`, `consent`, `select_account`;
/// `none` with any other value is an error. `select_account` is accepted and means
/// nothing here (one account per browser session).
fn parse_prompt(text: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    let mut others = false;
    for value in text
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => return Err("prompt may hold only none, login, consent and select_account"),
        }
        others |= value != "none";
    }
    if prompt.none && others {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

/// Seconds, digits only (no sign, no spaces), up to ten years.
fn parse_max_age(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 12 {
        return None;
    }
    text.parse().ok().filter(|s| *s <= 10 * 366 * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CB: &str = "https://app.example/cb";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", CB),
            ("scope", "openid profile"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6"),
        ]
    }

    fn with(changes: &[(&'static str, Option<&'static str>)]) -> Vec<(&'static str, &'static str)> {
        let mut list = good();
        for (name, value) in changes {
            match value {
                // Replace the parameter (or add it).
                Some(v) => {
                    list.retain(|(n, _)| n != name);
                    list.push((name, v));
                }
                None => list.retain(|(n, _)| n != name),
            }
        }
        list
    }

    fn repeated(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut list = good();
        list.push((name, value));
        list
    }

    fn redirect(
        error: &'static str,
        state: Option<&str>,
    ) -> Result<(), (&'static str, Option<String>)> {
        Err((error, state.map(str::to_owned)))
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn page_errors_never_redirect() {
        let registered = vec![CB.to_owned(), "http://127.0.0.1/native".to_owned()];
        let known = Some(Registration {
            redirect_uris: &registered,
            allows_code: true,
        });
        let cases: &[(&str, Vec<(&str, &str)>, Option<Registration<'_>>, PageError)] = &[
            (
                "client_id missing",
                with(&[("client_id", None)]),
                known,
                PageError::MissingClientId,
            ),
            (
                "client_id empty",
                with(&[("client_id", Some(""))]),
                known,
                PageError::MissingClientId,
            ),
            (
                "client_id repeated",
                repeated("client_id", "other"),
                known,
                PageError::RepeatedClientId,
            ),
            ("unknown client", good(), None, PageError::UnknownClient),
            (
                "redirect_uri missing",
                with(&[("redirect_uri", None)]),
                known,
                PageError::MissingRedirectUri,
            ),
            (
                "redirect_uri repeated",
                repeated("redirect_uri", CB),
                known,
                PageError::RepeatedRedirectUri,
            ),
            (
                "redirect_uri unregistered",
                with(&[("redirect_uri", Some("https://evil.example/cb"))]),
                known,
                PageError::UnregisteredRedirectUri,
            ),
            (
                "redirect_uri with a path suffix",
                with(&[("redirect_uri", Some("https://app.example/cb/../admin"))]),
                known,
                PageError::UnregisteredRedirectUri,
            ),
            (
                "unknown client wins over a bad response_type",
                with(&[("response_type", Some("token"))]),
                None,
                PageError::UnknownClient,
            ),
            (
                "bad redirect wins over missing PKCE",
                with(&[
                    ("redirect_uri", Some("https://evil.example/cb")),
                    ("code_challenge", None),
                ]),
                known,
                PageError::UnregisteredRedirectUri,
            ),
        ];
        for (name, list, registration, want) in cases {
            assert_eq!(
                check(&pairs(list), *registration),
                Err(Refusal::Page(*want)),
                "{name}"
            );
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn redirect_errors_carry_state() {
        let registered = vec![CB.to_owned()];
        let known = Registration {
            redirect_uris: &registered,
            allows_code: true,
        };
        let no_code = Registration {
            redirect_uris: &registered,
            allows_code: false,
        };
        let long_state: &'static str = "s".repeat(513).leak();
        let cases: &[(
            &str,
            Vec<(&str, &str)>,
            Registration<'_>,
            Result<(), (&str, Option<String>)>,
        )] = &[
            ("good", good(), known, Ok(())),
            (
                "response_type missing",
                with(&[("response_type", None)]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "implicit",
                with(&[("response_type", Some("token"))]),
                known,
                redirect("unsupported_response_type", Some("xyz")),
            ),
            (
                "hybrid",
                with(&[("response_type", Some("code id_token"))]),
                known,
                redirect("unsupported_response_type", Some("xyz")),
            ),
            (
                "client without the code grant",
                good(),
                no_code,
                redirect("unauthorized_client", Some("xyz")),
            ),
            (
                "no challenge",
                with(&[("code_challenge", None)]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "plain",
                with(&[("code_challenge_method", Some("plain"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "method missing",
                with(&[("code_challenge_method", None)]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "scope repeated",
                repeated("scope", "admin"),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "state repeated: not echoed",
                repeated("state", "abc"),
                known,
                redirect("invalid_request", None),
            ),
            (
                "state too long: not echoed",
                with(&[("state", Some(long_state))]),
                known,
                redirect("invalid_request", None),
            ),
            ("no state", with(&[("state", None)]), known, Ok(())),
            (
                "request object",
                with(&[("request", Some("eyJ..."))]),
                known,
                redirect("request_not_supported", Some("xyz")),
            ),
            (
                "request_uri",
                with(&[("request_uri", Some("urn:x"))]),
                known,
                redirect("request_uri_not_supported", Some("xyz")),
            ),
            (
                "fragment response mode",
                with(&[("response_mode", Some("fragment"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "query response mode",
                with(&[("response_mode", Some("query"))]),
                known,
                Ok(()),
            ),
            (
                "prompt none",
                with(&[("prompt", Some("none"))]),
                known,
                Ok(()),
            ),
            (
                "prompt login consent",
                with(&[("prompt", Some("login consent"))]),
                known,
                Ok(()),
            ),
            (
                "prompt none with login",
                with(&[("prompt", Some("none login"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "prompt unknown",
                with(&[("prompt", Some("maybe"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            ("max_age 0", with(&[("max_age", Some("0"))]), known, Ok(())),
            (
                "max_age negative",
                with(&[("max_age", Some("-1"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "max_age with sign",
                with(&[("max_age", Some("+5"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "max_age huge",
                with(&[("max_age", Some("99999999999"))]),
                known,
                redirect("invalid_request", Some("xyz")),
            ),
            (
                "unknown parameter ignored",
                repeated("ui_locales", "de"),
                known,
                Ok(()),
            ),
        ];
        for (name, list, registration, want) in cases {
            let got = check(&pairs(list), Some(*registration))
                .map(|_| ())
                .map_err(|refusal| match refusal {
                    Refusal::Redirect {
                        redirect_uri,
                        error,
                        state,
                        description,
                    } => {
                        assert_eq!(redirect_uri, CB, "{name}: back to the presented URI");
                        assert!(!description.is_empty(), "{name}");
                        (error, state)
                    }
                    Refusal::Page(page) => {
                        panic!("{name}: a page ({page:?}) where a redirect was due")
                    }
                });
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn a_good_request_is_read_whole() {
        let registered = vec!["http://127.0.0.1/native".to_owned()];
        let list = with(&[
            ("redirect_uri", Some("http://127.0.0.1:50123/native")),
            ("prompt", Some("consent")),
            ("max_age", Some("300")),
            ("login_hint", Some("alice")),
        ]);
        let request = check(
            &pairs(&list),
            Some(Registration {
                redirect_uris: &registered,
                allows_code: true,
            }),
        )
        .expect("a good request");
        assert_eq!(request.client_id, "web");
        assert_eq!(
            request.redirect_uri, "http://127.0.0.1:50123/native",
            "as presented, port included"
        );
        assert_eq!(
            request.scope,
            ["openid", "profile"].map(str::to_owned).into()
        );
        assert_eq!(request.state.as_deref(), Some("xyz"));
        assert_eq!(request.code_challenge, CHALLENGE);
        assert_eq!(request.nonce.as_deref(), Some("n-0S6"));
        assert_eq!(
            request.prompt,
            Prompt {
                none: false,
                login: false,
                consent: true
            }
        );
        assert_eq!(request.max_age, Some(300));
        assert_eq!(request.login_hint.as_deref(), Some("alice"));
        assert_eq!(request.id_token_hint, None);
    }
}
