//! `iss` and `aud`: exact matches only.

use rampart::TokenError;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn issuer_and_audience_must_match_exactly() {
    let t = |name: &str, value: Value| with_claims(&HS, &set(claims(), name, value));
    let cases = [
        case(
            "wrong iss",
            t("iss", json!("https://evil.test")),
            TokenError::WrongIssuer,
        ),
        case(
            "iss with trailing slash",
            t("iss", json!(format!("{TEST_ISSUER}/"))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss in another case",
            t("iss", json!(TEST_ISSUER.to_uppercase())),
            TokenError::WrongIssuer,
        ),
        case(
            "iss with leading space",
            t("iss", json!(format!(" {TEST_ISSUER}"))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss as a prefix",
            t("iss", json!(format!("{TEST_ISSUER}.evil.test"))),
            TokenError::WrongIssuer,
        ),
        case("iss empty", t("iss", json!("")), TokenError::WrongIssuer),
        case(
            "iss missing",
            with_claims(&HS, &unset(claims(), "iss")),
            TokenError::MissingClaim("iss"),
        ),
        case(
            "aud missing",
            with_claims(&HS, &unset(claims(), "aud")),
            TokenError::MissingClaim("aud"),
        ),
        case(
            "aud empty array",
            t("aud", json!([])),
            TokenError::MissingClaim("aud"),
        ),
        case(
            "aud another service",
            t("aud", json!("other-api")),
            TokenError::WrongAudience,
        ),
        case(
            "aud array without a match",
            t("aud", json!(["other-api", "third-api"])),
            TokenError::WrongAudience,
        ),
        case(
            "aud in another case",
            t("aud", json!(TEST_AUDIENCE.to_uppercase())),
            TokenError::WrongAudience,
        ),
        case(
            "aud as a prefix",
            t("aud", json!(format!("{TEST_AUDIENCE}-2"))),
            TokenError::WrongAudience,
        ),
        case(
            "aud empty string",
            t("aud", json!("")),
            TokenError::WrongAudience,
        ),
        case(
            "aud joined into one string",
            t("aud", json!(format!("other-api {TEST_AUDIENCE}"))),
            TokenError::WrongAudience,
        ),
    ];
    let v = validator(&HS);
    assert_refused(&v, &cases).await;
    let claims = assert_accepted(
        &v,
        "aud array with one match",
        &t("aud", json!(["other-api", TEST_AUDIENCE])),
    )
    .await;
    assert!(claims.aud.contains(TEST_AUDIENCE) && claims.aud.contains("other-api"));
    assert_accepted(&v, "aud single string", &t("aud", json!(TEST_AUDIENCE))).await;
}
