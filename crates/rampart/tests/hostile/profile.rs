//! RFC 9068 §2.2: the access-token profile's required claims, and the plain JWT profile.

use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};
use rampart::{TokenError, TypPolicy};
use serde_json::json;

use super::helpers::*;

/// RFC 9068 §2.2 makes `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` REQUIRED
/// in a JWT access token. With the default policy (`typ: at+jwt`), a token missing any of
/// them is refused naming the claim, whether or not a value is compared for it (no
/// issuer or audience check, no `max_age`), and `TypPolicy::Any` alone changes nothing.
#[tokio::test]
async fn an_access_token_missing_a_claim_rfc9068_requires_is_refused() {
    const REQUIRED: [&str; 7] = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];
    let without = |name: &str| with_claims(&HS, &unset(claims(), name));
    let cases: Vec<Case> = REQUIRED
        .iter()
        .map(|&name| {
            case(
                format!("no {name}"),
                without(name),
                TokenError::MissingClaim(name),
            )
        })
        .collect();
    let default = validator(&HS);
    assert_accepted(&default, "every required claim", &good(&HS)).await;
    assert_refused(&default, &cases).await;

    // Skipping the comparison of a value does not waive its presence.
    let unchecked = HS
        .validator_builder()
        .clock(|| NOW)
        .insecure_skip_iss()
        .insecure_skip_aud()
        .build()
        .unwrap();
    assert_accepted(
        &unchecked,
        "every required claim, nothing compared",
        &good(&HS),
    )
    .await;
    assert_refused(&unchecked, &cases).await;

    // The `typ` policy decides the header only.
    let any_typ = HS
        .validator_builder()
        .clock(|| NOW)
        .typ(TypPolicy::Any)
        .build()
        .unwrap();
    assert_refused(&any_typ, &cases).await;
    let exact_typ = HS
        .validator_builder()
        .clock(|| NOW)
        .typ(TypPolicy::Exact("at+jwt".into()))
        .build()
        .unwrap();
    assert_refused(&exact_typ, &cases).await;
}

/// The plain JWT profile, asked for by name, is the one way to accept tokens without
/// `sub`, `client_id`, `iat` or `jti`; `exp` and the configured `iss` and `aud` stay
/// required.
#[tokio::test]
async fn the_plain_jwt_profile_requires_only_exp_and_what_is_configured() {
    let v = plain_jwt_validator(&HS);
    for name in ["sub", "client_id", "iat", "jti"] {
        assert_accepted(
            &v,
            &format!("no {name}"),
            &with_claims(&HS, &unset(claims(), name)),
        )
        .await;
    }
    let bare = json!({ "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "exp": NOW + 600 });
    assert_accepted(&v, "only iss, aud and exp", &with_claims(&HS, &bare)).await;
    let cases = ["exp", "iss", "aud"].map(|name| {
        case(
            format!("no {name}"),
            with_claims(&HS, &unset(bare.clone(), name)),
            TokenError::MissingClaim(name),
        )
    });
    assert_refused(&v, &cases).await;
}
