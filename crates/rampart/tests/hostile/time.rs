//! Time claims: `exp`, `nbf`, `iat`, the clock-skew leeway and the maximum age.

use std::time::Duration;

use rampart::TokenError;
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn expired_premature_and_future_issued_tokens_are_refused_beyond_the_leeway() {
    let t = |name: &str, value: Value| with_claims(&HS, &set(claims(), name, value));
    let cases = [
        case(
            "exp 31 s ago",
            t("exp", json!(NOW - 31)),
            TokenError::Expired,
        ),
        case(
            "exp exactly leeway ago",
            t("exp", json!(NOW - 30)),
            TokenError::Expired,
        ),
        case(
            "exp 30.5 s ago (fractional)",
            t("exp", json!(NOW as f64 - 30.5)),
            TokenError::Expired,
        ),
        case(
            "exp a year ago",
            t("exp", json!(NOW - 31_536_000)),
            TokenError::Expired,
        ),
        case("exp 0", t("exp", json!(0)), TokenError::Expired),
        case(
            "nbf 31 s ahead",
            t("nbf", json!(NOW + 31)),
            TokenError::NotYetValid,
        ),
        case(
            "nbf a day ahead",
            t("nbf", json!(NOW + 86_400)),
            TokenError::NotYetValid,
        ),
        case(
            "iat 31 s ahead",
            t("iat", json!(NOW + 31)),
            TokenError::IssuedInFuture,
        ),
        case(
            "iat a day ahead",
            t("iat", json!(NOW + 86_400)),
            TokenError::IssuedInFuture,
        ),
        case(
            "exp spelled EXP (claim names are case-sensitive)",
            with_claims(&HS, &set(unset(claims(), "exp"), "EXP", json!(NOW + 600))),
            TokenError::MissingClaim("exp"),
        ),
        case(
            "exp missing",
            with_claims(&HS, &unset(claims(), "exp")),
            TokenError::MissingClaim("exp"),
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn tokens_inside_the_clock_skew_leeway_are_accepted() {
    let v = validator(&HS);
    let t = |name: &str, value: Value| with_claims(&HS, &set(claims(), name, value));
    assert_accepted(&v, "exp 29 s ago", &t("exp", json!(NOW - 29))).await;
    assert_accepted(&v, "nbf 30 s ahead", &t("nbf", json!(NOW + 30))).await;
    assert_accepted(&v, "iat 30 s ahead", &t("iat", json!(NOW + 30))).await;
    assert_accepted(&v, "fractional exp", &t("exp", json!(NOW as f64 + 0.5))).await;
    // Without `iat` only under the plain JWT profile: RFC 9068 §2.2 requires it of an
    // access token (see `an_access_token_missing_a_claim_rfc9068_requires_is_refused`).
    assert_accepted(
        &plain_jwt_validator(&HS),
        "no iat without max_age, plain JWT profile",
        &with_claims(&HS, &unset(claims(), "iat")),
    )
    .await;
}

#[tokio::test]
async fn max_age_refuses_tokens_issued_too_long_ago() {
    let v = HS
        .validator_builder()
        .clock(|| NOW)
        .max_age(Duration::from_secs(3600))
        .build()
        .unwrap();
    let iat = |value: i64| with_claims(&HS, &set(claims(), "iat", json!(value)));
    assert_accepted(&v, "iat now", &iat(NOW)).await;
    assert_accepted(&v, "iat max_age + leeway ago", &iat(NOW - 3630)).await;
    let cases = [
        case(
            "iat max_age + leeway + 1 s ago",
            iat(NOW - 3631),
            TokenError::TooOld,
        ),
        case("iat a week ago", iat(NOW - 604_800), TokenError::TooOld),
        case(
            "iat missing",
            with_claims(&HS, &unset(claims(), "iat")),
            TokenError::MissingClaim("iat"),
        ),
    ];
    assert_refused(&v, &cases).await;
}
