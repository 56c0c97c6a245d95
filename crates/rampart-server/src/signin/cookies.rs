//! The sign-in cookies. Both are `__Host-` prefixed (RFC 6265bis §4.1.3.2: set only by
//! this host over HTTPS, path `/`, no `Domain`, so no sibling subdomain can plant or
//! read them), `Secure`, `HttpOnly` and `SameSite=Lax` (sent on the top-level GET that
//! brings the user from an app, not on cross-site POSTs or subresource loads).

use http::{HeaderMap, HeaderValue, header};

/// The browser session (see `accounts::browser`).
pub const SESSION: &str = "__Host-rampart-session";
/// The double-submit CSRF secret every form repeats in a hidden field.
pub const CSRF: &str = "__Host-rampart-csrf";

/// The value of cookie `name` in the request, if sent exactly once. Pure.
pub fn read<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v);
    match (found.next(), found.next()) {
        (Some(v), None) if !v.is_empty() => Some(v),
        _ => None,
    }
}

/// `Set-Cookie` for `name=value`; `max_age` seconds, or a browser-session cookie when
/// `None`. Pure.
pub fn set(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map_or_else(String::new, |s| format!("; Max-Age={}", s.max(0)));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// `Set-Cookie` removing cookie `name`. Pure.
pub fn clear(name: &str) -> HeaderValue {
    set(name, "", Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for c in cookies {
            map.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        map
    }

    #[test]
    fn reads_one_cookie() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("alone", &["__Host-rampart-session=abc"], Some("abc")),
            (
                "among others",
                &["a=1; __Host-rampart-session=abc; b=2"],
                Some("abc"),
            ),
            (
                "in a second header",
                &["a=1", "__Host-rampart-session=abc"],
                Some("abc"),
            ),
            ("absent", &["a=1"], None),
            ("empty", &["__Host-rampart-session="], None),
            (
                "twice (a planted duplicate)",
                &["__Host-rampart-session=abc; __Host-rampart-session=def"],
                None,
            ),
            ("a longer name", &["x__Host-rampart-session=abc"], None),
        ];
        for (name, cookies, expected) in cases {
            assert_eq!(read(&headers(cookies), SESSION), *expected, "{name}");
        }
    }

    #[test]
    fn cookies_carry_every_attribute() {
        assert_eq!(
            set(SESSION, "v", Some(60)),
            "__Host-rampart-session=v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert_eq!(
            clear(CSRF),
            "__Host-rampart-csrf=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
