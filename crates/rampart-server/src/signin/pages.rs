//! The sign-in pages, server-rendered by maud (checked at compile time, every value
//! escaped). No script, no inline style, no third-party asset: the only subresource is
//! this server's stylesheet, so the CSP can be `default-src 'none'`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use maud::{DOCTYPE, Markup, html};

/// The stylesheet, compiled in.
pub const STYLESHEET: &str = include_str!("../../assets/signin.css");

/// Hidden fields every form carries: the CSRF secret and the authorization request.
pub struct FormState<'a> {
    pub csrf: &'a str,
    /// The authorization request as its query string.
    pub request: &'a str,
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href="/assets/signin.css";
            }
            body { main { (body) } }
        }
    }
}

fn hidden(form: &FormState<'_>) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(form.csrf);
        input type="hidden" name="request" value=(form.request);
    }
}

/// The login form.
pub fn login(
    client_name: &str,
    form: &FormState<'_>,
    username: Option<&str>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Sign in",
        html! {
            h1 { "Sign in" }
            p.lead { "to continue to " strong { (client_name) } }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action="/login" {
                (hidden(form))
                label for="username" { "Username" }
                input #username type="text" name="username" autocomplete="username"
                    autocapitalize="none" spellcheck="false" required
                    autofocus[username.is_none()] value=[username];
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password"
                    required autofocus[username.is_some()];
                div.actions { button type="submit" { "Sign in" } }
            }
        },
    )
}

/// The consent form: the client and each scope's description.
pub fn consent(
    client_name: &str,
    username: &str,
    scopes: &[(String, String)],
    form: &FormState<'_>,
) -> Markup {
    layout(
        "Allow access",
        html! {
            h1 { (client_name) " wants to access your account" }
            p.who { "Signed in as " strong { (username) } }
            p { "If you allow it, " (client_name) " will be able to:" }
            ul.scopes {
                @for (name, description) in scopes {
                    li { (description) br; span.scope-name { (name) } }
                }
            }
            form method="post" action="/consent" {
                (hidden(form))
                div.actions {
                    button type="submit" name="decision" value="allow" { "Allow" }
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        },
    )
}

/// Asks whether to sign out (RP-initiated logout without a trusted hint).
pub fn logout_confirm(csrf: &str, request: &str, client_name: Option<&str>) -> Markup {
    layout(
        "Sign out",
        html! {
            h1 { "Sign out?" }
            @if let Some(name) = client_name {
                p.lead { (name) " asks to sign you out of this account." }
            } @else {
                p.lead { "Sign out of this account on this browser." }
            }
            form method="post" action="/logout" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="request" value=(request);
                div.actions {
                    button type="submit" name="decision" value="logout" { "Sign out" }
                    button.secondary type="submit" name="decision" value="stay" { "Stay signed in" }
                }
            }
        },
    )
}

/// After a logout with nowhere to return to.
pub fn signed_out() -> Markup {
    layout(
        "Signed out",
        html! {
            h1 { "You are signed out" }
            p.lead { "You can close this window." }
        },
    )
}

/// The user chose not to sign out.
pub fn still_signed_in() -> Markup {
    layout(
        "Still signed in",
        html! {
            h1 { "You are still signed in" }
            p.lead { "Nothing changed. You can close this window." }
        },
    )
}

/// An error the user must see here rather than at the app (OAuth errors before the
/// client and its redirect URI are known good, RFC 6749 §4.1.2.1).
pub fn error(message: &str) -> Markup {
    layout(
        "Sign-in error",
        html! {
            h1 { "This sign-in request cannot be completed" }
            p.error role="alert" { (message) }
            p { "Go back to the app you came from and try again." }
        },
    )
}

/// The CSP of a page whose forms may end in a redirect to `redirect_origin` (browsers
/// check `form-action` along the redirect chain of a form submission). Pure.
pub fn csp(redirect_origin: Option<&str>) -> String {
    let extra = redirect_origin.map_or_else(String::new, |o| format!(" {o}"));
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'{extra}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A rendered page with its status and policy headers.
pub fn respond(status: StatusCode, page: Markup, redirect_origin: Option<&str>) -> Response {
    let mut response = (status, page.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp(redirect_origin)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let form = FormState {
            csrf: "c",
            request: "a=1&b=\"><script>",
        };
        let page = login("<b>App</b>", &form, Some("\"onfocus=x"), None).into_string();
        assert!(!page.contains("<b>App"), "{page}");
        assert!(!page.contains("\"><script>"), "{page}");
        assert!(page.contains("&lt;b&gt;App&lt;/b&gt;"));
        assert!(!page.contains("\"onfocus"));
    }

    #[test]
    fn csp_allows_only_self_and_the_redirect_origin() {
        let cases = [
            (
                "no redirect",
                None,
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (
                "an app's origin",
                Some("https://app.example"),
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https://app.example; frame-ancestors 'none'; base-uri 'none'",
            ),
        ];
        for (name, origin, expected) in cases {
            assert_eq!(csp(origin), expected, "{name}");
            assert!(!csp(origin).contains("unsafe"), "{name}");
        }
    }
}
