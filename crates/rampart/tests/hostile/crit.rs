//! `crit` and `b64`: critical extensions and unencoded payloads (RFC 7515 §4.1.11, RFC 7797).

use rampart::{Algorithm, TokenError};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn critical_extensions_and_unencoded_payloads_are_refused() {
    let key = HS.signing_key();
    let h = |extra: Value| {
        let mut h = header(key);
        for (name, value) in extra.as_object().expect("an object") {
            h = set(h, name, value.clone());
        }
        with_header(&HS, &h)
    };
    let cases = [
        case(
            "crit [exp]",
            h(json!({ "crit": ["exp"], "exp": NOW + 600 })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit [b64] with b64 false",
            h(json!({ "crit": ["b64"], "b64": false })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit [b64] with b64 true",
            h(json!({ "crit": ["b64"], "b64": true })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit []",
            h(json!({ "crit": [] })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit unknown name",
            h(json!({ "crit": ["urn:example:unknown"], "urn:example:unknown": 1 })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit naming an absent member",
            h(json!({ "crit": ["http://example.invalid/x"] })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit as a string",
            h(json!({ "crit": "exp" })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "crit null",
            h(json!({ "crit": null })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "b64 false without crit",
            h(json!({ "b64": false })),
            TokenError::UnsupportedCritical,
        ),
        case(
            "b64 as a string",
            h(json!({ "b64": "false" })),
            TokenError::Malformed,
        ),
        case("b64 null", h(json!({ "b64": null })), TokenError::Malformed),
    ];
    assert_refused(&validator(&HS), &cases).await;

    // RFC 7797 unencoded payload: the signing input is the raw payload, not its base64url.
    let raw_payload = String::from_utf8(json_bytes(&claims())).expect("UTF-8");
    let h =
        json!({ "alg": "HS256", "typ": "at+jwt", "kid": key.kid(), "b64": false, "crit": ["b64"] });
    let unencoded = hmac_token(
        Algorithm::HS256,
        key.secret_bytes(),
        &format!("{}.{raw_payload}", b64(json_bytes(&h))),
    );
    let detached = {
        let (hh, _, s) = parts(&unencoded);
        format!("{hh}..{s}")
    };
    // A dot-free unencoded payload reaches the header rules, which refuse `b64: false`.
    let dotless = format!(r#"{{"sub":"alice","exp":{}}}"#, NOW + 600);
    let unencoded_dotless = hmac_token(
        Algorithm::HS256,
        key.secret_bytes(),
        &format!("{}.{dotless}", b64(json_bytes(&h))),
    );
    let cases = [
        case(
            "RFC 7797 unencoded payload",
            unencoded_dotless,
            TokenError::UnsupportedCritical,
        ),
        // Claims with dots (`iss` is a URL) do not even split into three parts.
        case(
            "RFC 7797 unencoded payload containing dots",
            unencoded,
            TokenError::Malformed,
        ),
        case("RFC 7797 detached payload", detached, TokenError::Malformed),
    ];
    assert_refused(&validator(&HS), &cases).await;
}
