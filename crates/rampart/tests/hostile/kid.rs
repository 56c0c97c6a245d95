//! `kid`: unknown, empty, hostile or mistyped, and ambiguity when several keys share an `alg`.

use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER, TestIssuer};
use rampart::{Algorithm, TokenError, Validator};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn unknown_empty_hostile_or_mistyped_kids_are_refused() {
    let key = HS.signing_key();
    let v = validator(&HS);
    assert_accepted(&v, "real kid", &good(&HS)).await;
    let kid = |kid: Value| with_header(&HS, &set(header(key), "kid", kid));
    let long = "k".repeat(4000);
    let cases = [
        case(
            "unknown kid",
            kid(json!("no-such-key")),
            TokenError::UnknownKey,
        ),
        case("empty kid", kid(json!("")), TokenError::UnknownKey),
        case(
            "path traversal kid",
            kid(json!("../../etc/passwd")),
            TokenError::UnknownKey,
        ),
        case(
            "path traversal to /dev/null",
            kid(json!("../../../../../../dev/null")),
            TokenError::UnknownKey,
        ),
        case(
            "SQL injection kid",
            kid(json!("' OR 1=1 --")),
            TokenError::UnknownKey,
        ),
        case(
            "SQL union kid",
            kid(json!("x' UNION SELECT 'secret")),
            TokenError::UnknownKey,
        ),
        case(
            "shell injection kid",
            kid(json!("$(touch /tmp/pwned)|id;")),
            TokenError::UnknownKey,
        ),
        case(
            "very long kid (4000 chars)",
            kid(json!(long)),
            TokenError::UnknownKey,
        ),
        case(
            "kid with NUL byte",
            kid(json!(format!("{}\u{0}", key.kid()))),
            TokenError::UnknownKey,
        ),
        case(
            "real kid with trailing space",
            kid(json!(format!("{} ", key.kid()))),
            TokenError::UnknownKey,
        ),
        case(
            "real kid upper-cased",
            kid(json!(key.kid().to_uppercase())),
            TokenError::UnknownKey,
        ),
        case("kid null", kid(Value::Null), TokenError::Malformed),
        case("kid number", kid(json!(7)), TokenError::Malformed),
        case("kid array", kid(json!([key.kid()])), TokenError::Malformed),
        case(
            "kid object",
            kid(json!({ "kid": key.kid() })),
            TokenError::Malformed,
        ),
        case("kid boolean", kid(json!(true)), TokenError::Malformed),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn no_kid_is_ambiguous_when_several_keys_share_the_alg() {
    let second_hs = TestIssuer::new(Algorithm::HS256);
    let second_es = TestIssuer::new(Algorithm::ES256);
    let v = Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .clock(|| NOW)
        .keys([
            HS.signing_key().verifying_key(),
            second_hs.signing_key().verifying_key(),
            ES.signing_key().verifying_key(),
            second_es.signing_key().verifying_key(),
            ED.signing_key().verifying_key(),
        ])
        .build()
        .unwrap();
    for issuer in [&*HS, &second_hs, &*ES, &second_es, &*ED] {
        assert_accepted(&v, "with kid", &good(issuer)).await;
    }
    // EdDSA: one key bound to that algorithm, so no kid is still unambiguous.
    let ed = ED.signing_key();
    assert_accepted(
        &v,
        "lone EdDSA key, no kid",
        &sign(ed, &unset(header(ed), "kid"), &claims()),
    )
    .await;

    let no_kid = |issuer: &TestIssuer| {
        let key = issuer.signing_key();
        sign(key, &unset(header(key), "kid"), &claims())
    };
    let cases = [
        case(
            "HS256 without kid, two HS256 keys",
            no_kid(&HS),
            TokenError::UnknownKey,
        ),
        case(
            "other HS256 without kid, two HS256 keys",
            no_kid(&second_hs),
            TokenError::UnknownKey,
        ),
        case(
            "ES256 without kid, two ES256 keys",
            no_kid(&ES),
            TokenError::UnknownKey,
        ),
    ];
    assert_refused(&v, &cases).await;
}
