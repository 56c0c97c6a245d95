//! `alg`: `none` in any casing, missing, unknown or mistyped (RFC 8725 §3.1).

use rampart::TokenError;
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn alg_none_in_any_casing_is_refused_with_or_without_a_signature() {
    let key = HS.signing_key();
    let real_signature = parts(&good(&HS)).2.to_owned();
    let mut cases = Vec::new();
    for none in ["none", "None", "NONE", "nOnE"] {
        let unsigned = json!({ "alg": none, "typ": "at+jwt" });
        let input = signing_input(&json_bytes(&unsigned), &json_bytes(&claims()));
        cases.push(case(
            format!("alg {none:?}, empty signature"),
            format!("{input}."),
            TokenError::UnsupportedAlgorithm,
        ));
        cases.push(case(
            format!("alg {none:?}, a real signature pasted in"),
            format!("{input}.{real_signature}"),
            TokenError::UnsupportedAlgorithm,
        ));
        cases.push(case(
            format!("alg {none:?}, with the real kid, signed by the real key"),
            sign(
                key,
                &json!({ "alg": none, "typ": "at+jwt", "kid": key.kid() }),
                &claims(),
            ),
            TokenError::UnsupportedAlgorithm,
        ));
        cases.push(case(
            format!("alg {none:?}, no signature part at all"),
            input.clone(),
            TokenError::Malformed,
        ));
    }
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn a_missing_unknown_or_mistyped_alg_is_refused() {
    let key = HS.signing_key();
    let h = |alg: Value| set(header(key), "alg", alg);
    let cases = [
        case(
            "alg missing",
            with_header(&HS, &unset(header(key), "alg")),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg HS1",
            with_header(&HS, &h(json!("HS1"))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg RSA-OAEP (a JWE algorithm)",
            with_header(&HS, &h(json!("RSA-OAEP"))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg empty string",
            with_header(&HS, &h(json!(""))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg lower case hs256",
            with_header(&HS, &h(json!("hs256"))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg with trailing space",
            with_header(&HS, &h(json!("HS256 "))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg ES256K (unsupported curve)",
            with_header(&HS, &h(json!("ES256K"))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg ES512 (unsupported)",
            with_header(&HS, &h(json!("ES512"))),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "alg null",
            with_header(&HS, &h(Value::Null)),
            TokenError::Malformed,
        ),
        case(
            "alg number",
            with_header(&HS, &h(json!(256))),
            TokenError::Malformed,
        ),
        case(
            "alg array",
            with_header(&HS, &h(json!(["HS256"]))),
            TokenError::Malformed,
        ),
        case(
            "alg object",
            with_header(&HS, &h(json!({ "name": "HS256" }))),
            TokenError::Malformed,
        ),
        case(
            "alg boolean",
            with_header(&HS, &h(json!(true))),
            TokenError::Malformed,
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}
