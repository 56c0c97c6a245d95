//! Claim types: registered claims of the wrong JSON type, payloads that are not objects.

use rampart::TokenError;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn registered_claims_of_the_wrong_json_type_are_refused_naming_the_claim() {
    let t = |name: &str, value: Value| with_claims(&HS, &set(claims(), name, value));
    let cases = [
        case(
            "exp string",
            t("exp", json!("9999999999")),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp true",
            t("exp", json!(true)),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp null",
            t("exp", Value::Null),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp array",
            t("exp", json!([NOW + 600])),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp object",
            t("exp", json!({ "v": NOW + 600 })),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp negative",
            t("exp", json!(-1)),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp 1e300",
            t("exp", json!(1e300)),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp beyond year 9999",
            t("exp", json!(253_402_300_800_i64)),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "exp u64::MAX",
            t("exp", json!(u64::MAX)),
            TokenError::InvalidClaim("exp"),
        ),
        case(
            "nbf string",
            t("nbf", json!("0")),
            TokenError::InvalidClaim("nbf"),
        ),
        case(
            "iat object",
            t("iat", json!({})),
            TokenError::InvalidClaim("iat"),
        ),
        case(
            "iss number",
            t("iss", json!(1)),
            TokenError::InvalidClaim("iss"),
        ),
        case(
            "iss null",
            t("iss", Value::Null),
            TokenError::InvalidClaim("iss"),
        ),
        case(
            "iss array",
            t("iss", json!([TEST_ISSUER])),
            TokenError::InvalidClaim("iss"),
        ),
        case(
            "aud number",
            t("aud", json!(1)),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "aud [1]",
            t("aud", json!([1])),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "aud null",
            t("aud", Value::Null),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "aud with a null entry",
            t("aud", json!([TEST_AUDIENCE, null])),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "aud object",
            t("aud", json!({ "aud": TEST_AUDIENCE })),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "aud nested array",
            t("aud", json!([[TEST_AUDIENCE]])),
            TokenError::InvalidClaim("aud"),
        ),
        case(
            "sub false",
            t("sub", json!(false)),
            TokenError::InvalidClaim("sub"),
        ),
        case(
            "jti number",
            t("jti", json!(3)),
            TokenError::InvalidClaim("jti"),
        ),
        case(
            "client_id object",
            t("client_id", json!({})),
            TokenError::InvalidClaim("client_id"),
        ),
        case(
            "scope array",
            t("scope", json!(["notes:read"])),
            TokenError::InvalidClaim("scope"),
        ),
        case(
            "roles string",
            t("roles", json!("admin")),
            TokenError::InvalidClaim("roles"),
        ),
        case(
            "roles null",
            t("roles", Value::Null),
            TokenError::InvalidClaim("roles"),
        ),
        case(
            "roles with a number",
            t("roles", json!(["admin", 1])),
            TokenError::InvalidClaim("roles"),
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn a_claims_payload_that_is_not_a_json_object_is_malformed() {
    let key = HS.signing_key();
    let h = json_bytes(&header(key));
    let p = |payload: &[u8]| sign_bytes(key, &h, payload);
    let cases = [
        case(
            "payload JSON array",
            p(br#"[{"iss":"https://issuer.test"}]"#),
            TokenError::Malformed,
        ),
        case(
            "payload JSON string",
            p(br#""{\"sub\":\"alice\"}""#),
            TokenError::Malformed,
        ),
        case("payload null", p(b"null"), TokenError::Malformed),
        case("payload number", p(b"42"), TokenError::Malformed),
        case("payload true", p(b"true"), TokenError::Malformed),
        case(
            "payload empty object",
            p(b"{}"),
            TokenError::MissingClaim("exp"),
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}
