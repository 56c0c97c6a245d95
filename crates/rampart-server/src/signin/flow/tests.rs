use super::*;
use crate::oauth::authorize::request::Prompt;

fn req() -> AuthorizeRequest {
    AuthorizeRequest {
        client_id: "web".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: BTreeSet::new(),
        state: None,
        code_challenge: "c".into(),
        nonce: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        id_token_hint: None,
    }
}

#[allow(clippy::type_complexity)]
#[test]
fn the_next_step_follows_prompt_max_age_hint_and_consent() {
    let user = uuid::Uuid::from_u128(1);
    let other = uuid::Uuid::from_u128(2);
    let signed_in = Some(SessionFacts {
        user_id: user,
        auth_time: 1000,
    });
    let with = |f: fn(&mut AuthorizeRequest)| {
        let mut r = req();
        f(&mut r);
        r
    };
    let none = with(|r| r.prompt.none = true);
    let login = with(|r| r.prompt.login = true);
    let max_age_100 = with(|r| r.max_age = Some(100));
    let max_age_50 = with(|r| r.max_age = Some(50));
    let cases: Vec<(
        &str,
        AuthorizeRequest,
        Option<SessionFacts>,
        Hint,
        bool,
        Next,
    )> = vec![
        ("no session", req(), None, Hint::None, false, Next::Login),
        (
            "no session, prompt=none",
            none.clone(),
            None,
            Hint::None,
            false,
            Next::Fail("login_required", "the user is not signed in"),
        ),
        (
            "signed in, first-party",
            req(),
            signed_in,
            Hint::None,
            false,
            Next::Issue,
        ),
        (
            "signed in, consent needed",
            req(),
            signed_in,
            Hint::None,
            true,
            Next::Consent,
        ),
        (
            "consent needed, prompt=none",
            none.clone(),
            signed_in,
            Hint::None,
            true,
            Next::Fail(
                "consent_required",
                "the user has not consented to this client",
            ),
        ),
        (
            "prompt=login",
            login,
            signed_in,
            Hint::None,
            false,
            Next::Login,
        ),
        (
            "max_age not reached",
            max_age_100.clone(),
            signed_in,
            Hint::None,
            false,
            Next::Issue,
        ),
        (
            "max_age reached to the second",
            max_age_50,
            signed_in,
            Hint::None,
            false,
            Next::Issue,
        ),
        (
            "max_age exceeded",
            with(|r| r.max_age = Some(10)),
            signed_in,
            Hint::None,
            false,
            Next::Login,
        ),
        (
            "hint for this user",
            req(),
            signed_in,
            Hint::Subject(user),
            false,
            Next::Issue,
        ),
        (
            "hint for another user",
            req(),
            signed_in,
            Hint::Subject(other),
            false,
            Next::Login,
        ),
        (
            "hint for another user, prompt=none",
            none,
            signed_in,
            Hint::Subject(other),
            false,
            Next::Fail("login_required", "the user is not signed in"),
        ),
        (
            "forged hint",
            req(),
            signed_in,
            Hint::Invalid,
            false,
            Next::Fail(
                "invalid_request",
                "id_token_hint is not a valid ID token of this server",
            ),
        ),
    ];
    for (name, r, session, hint, consent, expected) in cases {
        assert_eq!(
            next_step(&r, session, hint, consent, 1000 + 50),
            expected,
            "{name}"
        );
    }
    // max_age=0: fine in the second of the login, asked again one second later.
    let r = with(|r| r.max_age = Some(0));
    assert_eq!(
        next_step(&r, signed_in, Hint::None, false, 1000),
        Next::Issue
    );
    assert_eq!(
        next_step(&r, signed_in, Hint::None, false, 1001),
        Next::Login
    );
}

#[test]
fn redirects_keep_the_registered_query() {
    let cases = [
        (
            "plain",
            "https://app.example/cb",
            "https://app.example/cb?code=a+b&iss=https%3A%2F%2Fid",
        ),
        (
            "with a query",
            "https://app.example/cb?x=1",
            "https://app.example/cb?x=1&code=a+b&iss=https%3A%2F%2Fid",
        ),
    ];
    for (name, uri, expected) in cases {
        assert_eq!(
            redirect_with(uri, &[("code", "a b"), ("iss", "https://id")]),
            expected,
            "{name}"
        );
    }
}

#[test]
fn a_login_drops_only_prompt_login() {
    let p = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };
    let cases = [
        (
            "prompt=login",
            p(&[("a", "1"), ("prompt", "login")]),
            p(&[("a", "1")]),
        ),
        (
            "prompt=login consent",
            p(&[("prompt", "login consent")]),
            p(&[("prompt", "consent")]),
        ),
        ("no prompt", p(&[("a", "1")]), p(&[("a", "1")])),
    ];
    for (name, input, expected) in cases {
        assert_eq!(after_login(&input), expected, "{name}");
    }
}

#[test]
fn csrf_fields_must_repeat_the_cookie() {
    let cases = [
        ("same", Some("abc"), Some("abc"), true),
        ("different", Some("abc"), Some("abd"), false),
        ("no cookie", None, Some("abc"), false),
        ("no field", Some("abc"), None, false),
        ("both empty", Some(""), Some(""), false),
        ("prefix", Some("abc"), Some("ab"), false),
    ];
    for (name, cookie, field, expected) in cases {
        assert_eq!(csrf_ok(cookie, field), expected, "{name}");
    }
}

#[test]
fn origins_of_redirect_uris() {
    let cases = [
        (
            "https",
            "https://app.example/cb?x=1",
            Some("https://app.example"),
        ),
        (
            "loopback with port",
            "http://127.0.0.1:5173/cb",
            Some("http://127.0.0.1:5173"),
        ),
        ("custom scheme", "com.example.app:/cb", None),
    ];
    for (name, uri, expected) in cases {
        assert_eq!(origin_of(uri).as_deref(), expected, "{name}");
    }
}
