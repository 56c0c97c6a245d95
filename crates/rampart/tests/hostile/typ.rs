//! `typ`: only an access token (`at+jwt`, RFC 9068 §2.1) by default.

use rampart::TokenError;
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn a_typ_other_than_an_access_token_is_refused_by_default() {
    // RFC 8725 §3.11 / RFC 9068: an ID token (typ JWT) signed by the same key is not an
    // access token.
    let key = HS.signing_key();
    let typ = |typ: Value| with_header(&HS, &set(header(key), "typ", typ));
    let cases = [
        case("typ JWT", typ(json!("JWT")), TokenError::WrongType),
        case("typ jwt", typ(json!("jwt")), TokenError::WrongType),
        case(
            "typ application/jwt",
            typ(json!("application/jwt")),
            TokenError::WrongType,
        ),
        case(
            "typ missing",
            with_header(&HS, &unset(header(key), "typ")),
            TokenError::WrongType,
        ),
        case("typ empty", typ(json!("")), TokenError::WrongType),
        case(
            "typ application/ only",
            typ(json!("application/")),
            TokenError::WrongType,
        ),
        case(
            "typ with trailing space",
            typ(json!("at+jwt ")),
            TokenError::WrongType,
        ),
        case(
            "typ with parameters",
            typ(json!("at+jwt; charset=utf-8")),
            TokenError::WrongType,
        ),
        case(
            "typ dpop+jwt",
            typ(json!("dpop+jwt")),
            TokenError::WrongType,
        ),
        case(
            "typ logout+jwt",
            typ(json!("logout+jwt")),
            TokenError::WrongType,
        ),
        case("typ JOSE", typ(json!("JOSE")), TokenError::WrongType),
        case("typ null", typ(Value::Null), TokenError::Malformed),
        case("typ number", typ(json!(1)), TokenError::Malformed),
        case("typ array", typ(json!(["at+jwt"])), TokenError::Malformed),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn at_jwt_typ_is_accepted_in_every_spelling_rfc7515_allows() {
    let key = HS.signing_key();
    let v = validator(&HS);
    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+Jwt",
        "APPLICATION/AT+JWT",
    ] {
        assert_accepted(
            &v,
            typ,
            &with_header(&HS, &set(header(key), "typ", json!(typ))),
        )
        .await;
    }
}
