//! What a client definition may hold, whoever writes it (the admin API, the CLI, the
//! import, dynamic registration). One pure function over the whole record, so that a
//! create and a PATCH are judged by the same rules against the result they would store.

use std::fmt;

use super::redirect_uri::{self, RegisterError};
use crate::store::{AuthMethod, Client};

/// Grant types a client may hold: the ones the token endpoint implements.
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
];
/// Redirect URIs (and post-logout ones) a client may register, each list.
pub const MAX_REDIRECT_URIS: usize = 20;
/// Bounds of a per-client access-token lifetime, seconds (a minute to a day).
pub const ACCESS_TTL_RANGE: std::ops::RangeInclusive<u32> = 60..=86_400;
/// Bounds of a per-client refresh-token lifetime, seconds (a minute to a year).
pub const REFRESH_TTL_RANGE: std::ops::RangeInclusive<u32> = 60..=31_536_000;

/// Why a client definition is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRuleError {
    Name,
    Audience,
    NoGrant,
    UnknownGrant(String),
    /// `client_credentials` on a public client (RFC 6749 §4.4).
    CredentialsNeedSecret,
    /// A secret method on a public client, or `none` on a confidential one.
    AuthMethod(AuthMethod, bool),
    /// `authorization_code` with nothing to redirect to.
    CodeNeedsRedirect,
    /// A redirect URI (`post_logout`: of the post-logout list) that cannot be registered.
    RedirectUri {
        post_logout: bool,
        error: RegisterError,
    },
    TooManyRedirectUris,
    AccessTtl,
    RefreshTtl,
}

impl fmt::Display for ClientRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name => f.write_str("the client name must be 1–200 printable characters"),
            Self::Audience => f.write_str("the audience must be a non-empty string without spaces"),
            Self::NoGrant => f.write_str("a client needs at least one grant"),
            Self::UnknownGrant(grant) => write!(
                f,
                "unsupported grant type {grant:?} (supported: {})",
                GRANTS.join(", ")
            ),
            Self::CredentialsNeedSecret => {
                f.write_str("client_credentials needs a confidential client (RFC 6749 §4.4)")
            }
            Self::AuthMethod(method, confidential) => write!(
                f,
                "token_endpoint_auth_method {} is for {} clients",
                method.as_str(),
                if *confidential {
                    "public"
                } else {
                    "confidential"
                }
            ),
            Self::RedirectUri { post_logout, error } => {
                let list = if *post_logout {
                    "post_logout_redirect_uris"
                } else {
                    "redirect_uris"
                };
                write!(f, "{list}: {}", error.description())
            }
            Self::CodeNeedsRedirect => {
                f.write_str("the authorization_code grant needs at least one redirect_uri")
            }
            Self::TooManyRedirectUris => write!(
                f,
                "at most {MAX_REDIRECT_URIS} redirect URIs (and as many post-logout ones)"
            ),
            Self::AccessTtl => write!(
                f,
                "access_token_ttl must be {}–{} seconds",
                ACCESS_TTL_RANGE.start(),
                ACCESS_TTL_RANGE.end()
            ),
            Self::RefreshTtl => write!(
                f,
                "refresh_token_ttl must be {}–{} seconds",
                REFRESH_TTL_RANGE.start(),
                REFRESH_TTL_RANGE.end()
            ),
        }
    }
}

/// Whether `client` may be stored as it is (scopes are checked against the store by the
/// caller; lists are expected deduplicated). Pure.
pub fn check_client(client: &Client) -> Result<(), ClientRuleError> {
    let name = &client.name;
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ClientRuleError::Name);
    }
    if let Some(aud) = &client.audience
        && (aud.is_empty() || aud.len() > 512 || aud.chars().any(|c| c.is_control() || c == ' '))
    {
        return Err(ClientRuleError::Audience);
    }
    if client.grants.is_empty() {
        return Err(ClientRuleError::NoGrant);
    }
    if let Some(unknown) = client.grants.iter().find(|g| !GRANTS.contains(&g.as_str())) {
        return Err(ClientRuleError::UnknownGrant(unknown.clone()));
    }
    let has = |grant: &str| client.grants.iter().any(|g| g == grant);
    if !client.confidential && has("client_credentials") {
        return Err(ClientRuleError::CredentialsNeedSecret);
    }
    if (client.auth_method == AuthMethod::None) == client.confidential {
        return Err(ClientRuleError::AuthMethod(
            client.auth_method,
            client.confidential,
        ));
    }
    for (post_logout, uris) in [
        (false, &client.redirect_uris),
        (true, &client.post_logout_redirect_uris),
    ] {
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(ClientRuleError::TooManyRedirectUris);
        }
        for uri in uris {
            redirect_uri::check_registration(uri)
                .map_err(|error| ClientRuleError::RedirectUri { post_logout, error })?;
        }
    }
    if has("authorization_code") && client.redirect_uris.is_empty() {
        return Err(ClientRuleError::CodeNeedsRedirect);
    }
    if client
        .access_token_ttl
        .is_some_and(|t| !ACCESS_TTL_RANGE.contains(&t))
    {
        return Err(ClientRuleError::AccessTtl);
    }
    if client
        .refresh_token_ttl
        .is_some_and(|t| !REFRESH_TTL_RANGE.contains(&t))
    {
        return Err(ClientRuleError::RefreshTtl);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_app() -> Client {
        Client {
            id: "c_web".into(),
            name: "Web app".into(),
            confidential: true,
            secret_hash: Some(vec![0; 32]),
            grants: vec!["password".into(), "refresh_token".into()],
            scopes: vec!["profile".into()],
            audience: None,
            disabled: false,
            created_at: 0,
            redirect_uris: vec!["https://app.example/callback".into()],
            post_logout_redirect_uris: vec!["https://app.example/".into()],
            first_party: false,
            auth_method: AuthMethod::ClientSecretBasic,
            access_token_ttl: Some(300),
            refresh_token_ttl: None,
            logout_revokes_tokens: false,
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn the_client_rules_table() {
        let native = |c: &mut Client| {
            c.confidential = false;
            c.secret_hash = None;
            c.auth_method = AuthMethod::None;
            c.redirect_uris = vec!["http://127.0.0.1/callback".into()];
        };
        let cases: [(&str, fn(&mut Client), Result<(), ClientRuleError>); 19] = [
            ("a confidential web app", |_| {}, Ok(())),
            (
                "client_secret_post",
                |c| c.auth_method = AuthMethod::ClientSecretPost,
                Ok(()),
            ),
            ("a native app on loopback", native, Ok(())),
            (
                "a blank name",
                |c| c.name = "  ".into(),
                Err(ClientRuleError::Name),
            ),
            (
                "a name with a newline",
                |c| c.name = "a\nb".into(),
                Err(ClientRuleError::Name),
            ),
            (
                "an audience with a space",
                |c| c.audience = Some("a b".into()),
                Err(ClientRuleError::Audience),
            ),
            (
                "no grant",
                |c| c.grants.clear(),
                Err(ClientRuleError::NoGrant),
            ),
            (
                "the implicit grant",
                |c| c.grants.push("implicit".into()),
                Err(ClientRuleError::UnknownGrant("implicit".into())),
            ),
            ("no redirect URIs", |c| c.redirect_uris.clear(), Ok(())),
            (
                "authorization_code with a redirect URI",
                |c| c.grants.push("authorization_code".into()),
                Ok(()),
            ),
            (
                "authorization_code without a redirect URI",
                |c| {
                    c.grants.push("authorization_code".into());
                    c.redirect_uris.clear();
                },
                Err(ClientRuleError::CodeNeedsRedirect),
            ),
            (
                "client_credentials on a public client",
                |c| {
                    c.confidential = false;
                    c.auth_method = AuthMethod::None;
                    c.grants = vec!["client_credentials".into()];
                },
                Err(ClientRuleError::CredentialsNeedSecret),
            ),
            (
                "none on a confidential client",
                |c| c.auth_method = AuthMethod::None,
                Err(ClientRuleError::AuthMethod(AuthMethod::None, true)),
            ),
            (
                "a secret method on a public client",
                |c| {
                    c.confidential = false;
                    c.secret_hash = None;
                },
                Err(ClientRuleError::AuthMethod(
                    AuthMethod::ClientSecretBasic,
                    false,
                )),
            ),
            (
                "an http redirect to a public host",
                |c| c.redirect_uris = vec!["http://app.example/cb".into()],
                Err(ClientRuleError::RedirectUri {
                    post_logout: false,
                    error: RegisterError::InsecureHttp,
                }),
            ),
            (
                "a post-logout URI with a fragment",
                |c| c.post_logout_redirect_uris = vec!["https://app.example/#bye".into()],
                Err(ClientRuleError::RedirectUri {
                    post_logout: true,
                    error: RegisterError::Fragment,
                }),
            ),
            (
                "21 redirect URIs",
                |c| {
                    c.redirect_uris = (0..21)
                        .map(|n| format!("https://app.example/{n}"))
                        .collect();
                },
                Err(ClientRuleError::TooManyRedirectUris),
            ),
            (
                "a 10-second access token",
                |c| c.access_token_ttl = Some(10),
                Err(ClientRuleError::AccessTtl),
            ),
            (
                "a refresh token for two years",
                |c| c.refresh_token_ttl = Some(2 * 31_536_000),
                Err(ClientRuleError::RefreshTtl),
            ),
        ];
        for (name, change, expected) in cases {
            let mut client = web_app();
            change(&mut client);
            assert_eq!(check_client(&client), expected, "{name}");
        }
    }

    #[test]
    fn every_refusal_says_what_to_fix() {
        let message = ClientRuleError::AuthMethod(AuthMethod::None, true).to_string();
        assert_eq!(
            message,
            "token_endpoint_auth_method none is for public clients"
        );
        let message = ClientRuleError::RedirectUri {
            post_logout: true,
            error: RegisterError::Fragment,
        }
        .to_string();
        assert!(
            message.starts_with("post_logout_redirect_uris: "),
            "{message}"
        );
    }
}
