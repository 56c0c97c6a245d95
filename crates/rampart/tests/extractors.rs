//! Extractor and layer responses: exact status, `WWW-Authenticate` and body for every
//! rejection (RFC 6750 §3), and the success paths.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::{Request, StatusCode, header};
use rampart::testing::TestIssuer;
use rampart::{Algorithm, Auth, Bearer, HasRole, Scoped, TypPolicy, Validator};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt as _;

rampart::scopes!(NotesRead = "notes:read");
rampart::scopes!(ReadWrite = "notes:read", "notes:write");
rampart::roles!(Admin = "admin");

#[derive(Clone, FromRef)]
struct State {
    validator: Validator,
}

#[derive(Debug, Deserialize)]
struct TenantClaims {
    sub: String,
    tenant: String,
}

fn app(validator: Validator) -> Router {
    Router::new()
        .route(
            "/bearer",
            get(|Bearer(t): Bearer| async move { t.len().to_string() }),
        )
        .route(
            "/auth",
            get(|a: Auth| async move { a.subject().unwrap_or_default().to_owned() }),
        )
        .route(
            "/optional",
            get(|a: Option<Auth>| async move {
                Json(json!({ "sub": a.and_then(|a| a.standard().sub.clone()) }))
            }),
        )
        .route(
            "/scoped",
            get(|a: Scoped<NotesRead>| async move { a.subject().unwrap_or_default().to_owned() }),
        )
        .route("/both", get(|_: Scoped<ReadWrite>| async { "ok" }))
        .route("/admin", get(|_: HasRole<Admin>| async { "ok" }))
        .route(
            "/custom",
            get(|a: Auth<TenantClaims>| async move {
                format!("{}@{}", a.claims().sub, a.claims().tenant)
            }),
        )
        .route(
            "/layer",
            get(|a: Auth| async move { a.subject().unwrap_or_default().to_owned() })
                .route_layer(validator.require_scopes(["notes:read"])),
        )
        .route(
            "/layer-role",
            get(|| async { "ok" }).route_layer(validator.require_roles(["admin"])),
        )
        .with_state(State { validator })
}

struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn call(app: &Router, path: &str, auth: &[&str]) -> Reply {
    let mut req = Request::get(path);
    for a in auth {
        req = req.header(header::AUTHORIZATION, *a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let challenge = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply {
        status,
        challenge,
        body,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_request_without_credentials_gets_a_bare_challenge() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    for path in ["/bearer", "/auth", "/scoped", "/admin", "/layer"] {
        let r = call(&app, path, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            r.challenge.as_deref(),
            Some(r#"Bearer realm="api""#),
            "{path}"
        );
        assert_eq!(r.body["error"], "unauthorized", "{path}");
    }
}

#[tokio::test]
async fn another_auth_scheme_counts_as_no_credentials() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let r = call(&app(issuer.validator()), "/auth", &["Basic dXNlcjpwYXNz"]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.challenge.as_deref(), Some(r#"Bearer realm="api""#));
}

#[tokio::test]
async fn a_malformed_authorization_header_is_invalid_request() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    for auth in [
        &["Bearer "][..],
        &["Bearer a b"],
        &["Bearer a,b"],
        &["Bearer a", "Bearer b"],
    ] {
        let r = call(&app, "/auth", auth).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{auth:?}");
        let challenge = r.challenge.unwrap();
        assert!(
            challenge.starts_with(r#"Bearer realm="api", error="invalid_request""#),
            "{challenge}"
        );
        assert_eq!(r.body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn a_query_string_token_is_refused_unless_enabled() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token().sub("alice").sign();
    let strict = call(
        &app(issuer.validator()),
        &format!("/auth?access_token={token}"),
        &[],
    )
    .await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST);
    let lenient = app(issuer
        .validator_builder()
        .allow_query_token()
        .build()
        .unwrap());
    let ok = call(&lenient, &format!("/auth?access_token={token}"), &[]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, "alice");
    let twice = call(
        &lenient,
        &format!("/auth?access_token={token}"),
        &[&bearer(&token)],
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_invalid_token_gets_invalid_token_and_is_never_echoed() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let other = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    let cases = [
        (
            "expired",
            issuer.token().expires_in(-120).sign(),
            "the token has expired",
        ),
        (
            "foreign key",
            other.token().sign(),
            "no key matches the token",
        ),
        (
            "wrong typ",
            issuer.token().typ("JWT").sign(),
            "the token type is not accepted",
        ),
        (
            "wrong aud",
            issuer.token().claim("aud", json!("elsewhere")).sign(),
            "the token audience is not accepted",
        ),
        (
            "garbage",
            "abc.def.ghi".to_owned(),
            "the token is malformed",
        ),
    ];
    for (name, token, description) in cases {
        let r = call(&app, "/auth", &[&bearer(&token)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(
            r.challenge.as_deref(),
            Some(format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#).as_str()),
            "{name}"
        );
        assert_eq!(
            r.body,
            json!({"error": "invalid_token", "error_description": description}),
            "{name}"
        );
        assert!(!r.body.to_string().contains(&token), "{name}: token echoed");
    }
}

#[tokio::test]
async fn optional_auth_is_none_only_without_credentials() {
    let issuer = TestIssuer::new(Algorithm::EdDSA);
    let app = app(issuer.validator());
    let anonymous = call(&app, "/optional", &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.body),
        (StatusCode::OK, json!({"sub": null}))
    );
    let known = call(
        &app,
        "/optional",
        &[&bearer(&issuer.token().sub("bob").sign())],
    )
    .await;
    assert_eq!(
        (known.status, known.body),
        (StatusCode::OK, json!({"sub": "bob"}))
    );
    let bad = call(
        &app,
        "/optional",
        &[&bearer(&issuer.token().expires_in(-120).sign())],
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::UNAUTHORIZED,
        "bad credentials are never silently anonymous"
    );
    let malformed = call(&app, "/optional", &["Bearer "]).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_the_scope() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    let token = issuer.token().scope("profile notes:readx").sign();
    for path in ["/scoped", "/layer"] {
        let r = call(&app, path, &[&bearer(&token)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        let challenge = r.challenge.unwrap();
        assert!(
            challenge.starts_with(r#"Bearer realm="api", error="insufficient_scope""#),
            "{challenge}"
        );
        assert!(challenge.ends_with(r#"scope="notes:read""#), "{challenge}");
        assert_eq!(r.body["error"], "insufficient_scope");
    }
    let partial = call(
        &app,
        "/both",
        &[&bearer(&issuer.token().scope("notes:read").sign())],
    )
    .await;
    assert_eq!(partial.status, StatusCode::FORBIDDEN);
    assert!(
        partial
            .challenge
            .unwrap()
            .ends_with(r#"scope="notes:read notes:write""#)
    );
}

#[tokio::test]
async fn the_right_scope_or_role_is_let_through() {
    let issuer = TestIssuer::new(Algorithm::HS256);
    let app = app(issuer.validator());
    let token = issuer
        .token()
        .sub("carol")
        .scope("notes:read notes:write")
        .roles(&["admin"])
        .sign();
    for (path, want) in [
        ("/scoped", "carol"),
        ("/both", "ok"),
        ("/admin", "ok"),
        ("/layer", "carol"),
        ("/layer-role", "ok"),
    ] {
        let r = call(&app, path, &[&bearer(&token)]).await;
        assert_eq!(
            (r.status, r.body),
            (StatusCode::OK, Value::String(want.into())),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_missing_role_is_403() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    let token = issuer.token().roles(&["user"]).sign();
    for path in ["/admin", "/layer-role"] {
        let r = call(&app, path, &[&bearer(&token)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.body["error"], "insufficient_scope", "{path}");
    }
}

#[tokio::test]
async fn custom_claims_are_deserialized_alongside_the_standard_ones() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    let ok = call(
        &app,
        "/custom",
        &[&bearer(
            &issuer
                .token()
                .sub("dan")
                .claim("tenant", json!("acme"))
                .sign(),
        )],
    )
    .await;
    assert_eq!(
        (ok.status, ok.body),
        (StatusCode::OK, Value::String("dan@acme".into()))
    );
    let shapeless = call(
        &app,
        "/custom",
        &[&bearer(&issuer.token().sub("dan").sign())],
    )
    .await;
    assert_eq!(shapeless.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        shapeless.body["error_description"],
        "the token's claims do not have the expected shape"
    );
}

#[tokio::test]
async fn an_app_can_swap_the_rejection_body_but_not_the_status_or_challenge() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let validator = issuer
        .validator_builder()
        .realm("notes")
        .rejection_body(|r| {
            Json(json!({"type": "about:blank", "status": r.status().as_u16(), "title": r.description()})).into_response()
        })
        .build()
        .unwrap();
    let r = call(&app(validator), "/auth", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.challenge.as_deref(), Some(r#"Bearer realm="notes""#));
    assert_eq!(
        r.body,
        json!({"type": "about:blank", "status": 401, "title": "a bearer token is required"})
    );
}

#[tokio::test]
async fn unreachable_keys_answer_503_not_401_or_500() {
    let jwks = rampart::RemoteJwks::builder("http://127.0.0.1:9/jwks.json")
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let validator = Validator::builder()
        .issuer("i")
        .audience("a")
        .jwks(jwks)
        .build()
        .unwrap();
    let token = TestIssuer::new(Algorithm::ES256)
        .with_issuer("i")
        .with_audience("a")
        .token()
        .sign();
    let r = call(&app(validator), "/auth", &[&bearer(&token)]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["error"], "temporarily_unavailable");
}

/// A cache hit skips the b64token scan; it must not change any outcome. Variants of a
/// token that is already cached (a character outside b64token appended or inserted, a
/// b64token character that is not base64url) are refused exactly as when the cache is
/// cold, and the cached token itself still passes.
#[tokio::test]
async fn a_cached_token_does_not_relax_the_b64token_check() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token().sub("alice").scope("notes:read").sign();
    for warm in [false, true] {
        let app = app(issuer.validator());
        if warm {
            let r = call(&app, "/scoped", &[&bearer(&token)]).await;
            assert_eq!(r.status, StatusCode::OK);
        }
        for (variant, status, error) in [
            (
                format!("{token},"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                format!("{token} x"),
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                format!("{token}~"),
                StatusCode::UNAUTHORIZED,
                "invalid_token",
            ),
            (
                format!("{token}="),
                StatusCode::UNAUTHORIZED,
                "invalid_token",
            ),
            (
                token.replacen('.', "+", 1),
                StatusCode::UNAUTHORIZED,
                "invalid_token",
            ),
        ] {
            for path in ["/auth", "/scoped", "/layer"] {
                let r = call(&app, path, &[&bearer(&variant)]).await;
                assert_eq!(r.status, status, "warm={warm} {path} {variant}");
                assert_eq!(r.body["error"], error, "warm={warm} {path}");
            }
        }
        let r = call(&app, "/scoped", &[&bearer(&token)]).await;
        assert_eq!((r.status, r.body), (StatusCode::OK, json!("alice")));
    }
}

/// A [`TokenCheck`](rampart::token::TokenCheck) that refuses the subjects on a list the
/// test changes while tokens sit in the verified-token cache.
struct BannedSubjects(std::sync::Mutex<Vec<String>>);

impl rampart::token::TokenCheck for BannedSubjects {
    fn check<'a>(&'a self, claims: &'a rampart::Claims) -> rampart::token::CheckFuture<'a> {
        let banned = claims
            .sub
            .as_ref()
            .is_some_and(|s| self.0.lock().unwrap().contains(s));
        Box::pin(async move {
            if banned {
                Err(rampart::TokenError::Revoked)
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test]
async fn a_token_check_refuses_a_cached_token_at_once_on_every_path() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let check = std::sync::Arc::new(BannedSubjects(std::sync::Mutex::new(Vec::new())));
    let validator = issuer
        .validator_builder()
        .token_check(check.clone())
        .build()
        .unwrap();
    let app = app(validator.clone());
    let token = issuer.token().sub("alice").scope("notes:read").sign();
    for path in ["/auth", "/scoped", "/layer", "/optional"] {
        let r = call(&app, path, &[&bearer(&token)]).await;
        assert_eq!(r.status, StatusCode::OK, "{path} before the ban");
    }
    assert!(validator.validate(&token).await.is_ok());

    check.0.lock().unwrap().push("alice".into());

    for path in ["/auth", "/scoped", "/layer", "/optional"] {
        let r = call(&app, path, &[&bearer(&token)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} after the ban");
        assert_eq!(r.body["error"], "invalid_token", "{path}");
    }
    assert_eq!(
        validator.validate(&token).await.unwrap_err(),
        rampart::TokenError::Revoked
    );
    let other = issuer.token().sub("bob").scope("notes:read").sign();
    assert_eq!(
        call(&app, "/scoped", &[&bearer(&other)]).await.status,
        StatusCode::OK
    );
}

/// The check's own outage is an outage (503), not a bad token.
#[tokio::test]
async fn a_token_check_that_cannot_read_its_state_answers_503() {
    struct Down;
    impl rampart::token::TokenCheck for Down {
        fn check<'a>(&'a self, _: &'a rampart::Claims) -> rampart::token::CheckFuture<'a> {
            Box::pin(async { Err(rampart::TokenError::CheckUnavailable) })
        }
    }
    let issuer = TestIssuer::new(Algorithm::ES256);
    let validator = issuer
        .validator_builder()
        .token_check(std::sync::Arc::new(Down))
        .build()
        .unwrap();
    let token = issuer.token().sub("alice").sign();
    let r = call(&app(validator), "/auth", &[&bearer(&token)]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["error"], "temporarily_unavailable");
}

/// Issue 14 part 3: a verdict left in the request extensions by one validator's layer is
/// trusted only by extractors of that same validator. Here the layer's validator accepts
/// any audience and any `typ`; the handler's state holds the default strict validator,
/// whose policy must still decide.
#[tokio::test]
async fn an_extractor_revalidates_a_verdict_another_validators_layer_left() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let lenient = Validator::builder()
        .issuer(issuer.issuer())
        .insecure_skip_aud()
        .typ(TypPolicy::Any)
        .keys([issuer.signing_key().verifying_key()])
        .build()
        .unwrap();
    let strict_validations = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&strict_validations);
    let strict = issuer
        .validator_builder()
        .observe(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let sub = |a: Auth| async move { a.subject().unwrap_or_default().to_owned() };
    let app = Router::new()
        .route("/auth", get(sub).route_layer(lenient.authenticate()))
        .route(
            "/scoped",
            get(|a: Scoped<NotesRead>| async move { a.subject().unwrap_or_default().to_owned() })
                .route_layer(lenient.authenticate()),
        )
        .route(
            "/optional",
            get(|a: Option<Auth>| async move {
                Json(json!({ "sub": a.and_then(|a| a.standard().sub.clone()) }))
            })
            .route_layer(lenient.authenticate()),
        )
        .route("/same", get(sub).route_layer(strict.authenticate()))
        .with_state(State { validator: strict });

    let elsewhere = issuer
        .token()
        .sub("mallory")
        .scope("notes:read")
        .claim("aud", json!("elsewhere"))
        .sign();
    let plain_typ = issuer
        .token()
        .sub("mallory")
        .scope("notes:read")
        .typ("JWT")
        .sign();
    let cases = [
        (
            "a token for another audience",
            &elsewhere,
            "the token audience is not accepted",
        ),
        (
            "a token of another type",
            &plain_typ,
            "the token type is not accepted",
        ),
    ];
    for (name, token, description) in cases {
        for path in ["/auth", "/scoped", "/optional"] {
            let r = call(&app, path, &[&bearer(token)]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name} on {path}");
            assert_eq!(r.body["error_description"], description, "{name} on {path}");
        }
    }
    let good = issuer.token().sub("alice").scope("notes:read").sign();
    for path in ["/auth", "/scoped"] {
        let r = call(&app, path, &[&bearer(&good)]).await;
        assert_eq!(
            (r.status, r.body),
            (StatusCode::OK, json!("alice")),
            "{path}"
        );
    }

    // With the same validator in the layer and the state, the token is validated once.
    strict_validations.store(0, Ordering::SeqCst);
    let r = call(&app, "/same", &[&bearer(&good)]).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, json!("alice")));
    assert_eq!(strict_validations.load(Ordering::SeqCst), 1);
}

/// Issue 14 part 4, over HTTP: under the default `typ: at+jwt` policy a token without one
/// of the claims RFC 9068 §2.2 requires is refused with 401 `invalid_token` naming it.
#[tokio::test]
async fn a_token_missing_a_claim_rfc9068_requires_gets_401_invalid_token() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let app = app(issuer.validator());
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let token = issuer.token().scope("notes:read").without(claim).sign();
        for path in ["/auth", "/scoped", "/layer"] {
            let r = call(&app, path, &[&bearer(&token)]).await;
            let description = format!("the token is missing the `{claim}` claim");
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "no {claim} on {path}");
            assert_eq!(
                r.challenge.as_deref(),
                Some(format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#).as_str()),
                "no {claim} on {path}"
            );
            assert_eq!(r.body["error"], "invalid_token", "no {claim} on {path}");
        }
    }
    let complete = issuer.token().scope("notes:read").sign();
    let r = call(&app, "/scoped", &[&bearer(&complete)]).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the default test token has every claim"
    );
}
