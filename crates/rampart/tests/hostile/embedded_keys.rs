//! Keys the token brings itself (`jwk`, `jku`, `x5c`, `x5u`, …): never trusted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart::{Algorithm, TokenError};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn keys_embedded_or_referenced_in_the_header_are_never_trusted() {
    // RFC 8725 §3.10 / CVE-2018-0114: the attacker signs with its own key and ships it (or
    // a URL to it) in the header. Keys must only ever come from configuration.
    let victim = ES.signing_key();
    let attacker = ATTACKER_ES.signing_key();
    let attacker_jwk = attacker.public_jwk().expect("an EC JWK");
    let attacker_x5c = STANDARD.encode(spki_der(attacker));
    let v = validator(&ES);
    assert_accepted(&v, "victim's own token", &good(&ES)).await;
    assert_accepted(
        &validator(&ATTACKER_ES),
        "attacker's key works for the attacker",
        &good(&ATTACKER_ES),
    )
    .await;

    let forged = |extra: &[&(&str, Value)], kid: Option<&str>| {
        let mut h = json!({ "alg": "ES256", "typ": "at+jwt" });
        if let Some(kid) = kid {
            h = set(h, "kid", json!(kid));
        }
        for (name, value) in extra {
            h = set(h, name, value.clone());
        }
        sign(attacker, &h, &claims())
    };
    let jwk = ("jwk", attacker_jwk);
    let jku = (
        "jku",
        json!("https://attacker.example/.well-known/jwks.json"),
    );
    let x5u = ("x5u", json!("https://attacker.example/cert.pem"));
    let x5c = ("x5c", json!([attacker_x5c]));
    let x5t = ("x5t", json!(b64([7u8; 20])));
    let cases = [
        case(
            "embedded jwk, no kid",
            forged(&[&jwk], None),
            TokenError::InvalidSignature,
        ),
        case(
            "embedded jwk, victim's kid",
            forged(&[&jwk], Some(victim.kid())),
            TokenError::InvalidSignature,
        ),
        case(
            "embedded jwk, attacker's kid",
            forged(&[&jwk], Some(attacker.kid())),
            TokenError::UnknownKey,
        ),
        case(
            "jku, no kid",
            forged(&[&jku], None),
            TokenError::InvalidSignature,
        ),
        case(
            "jku, victim's kid",
            forged(&[&jku], Some(victim.kid())),
            TokenError::InvalidSignature,
        ),
        case(
            "jku, attacker's kid",
            forged(&[&jku], Some(attacker.kid())),
            TokenError::UnknownKey,
        ),
        case(
            "x5u, victim's kid",
            forged(&[&x5u], Some(victim.kid())),
            TokenError::InvalidSignature,
        ),
        case(
            "x5u, attacker's kid",
            forged(&[&x5u], Some(attacker.kid())),
            TokenError::UnknownKey,
        ),
        case(
            "x5c, no kid",
            forged(&[&x5c], None),
            TokenError::InvalidSignature,
        ),
        case(
            "x5c, victim's kid",
            forged(&[&x5c], Some(victim.kid())),
            TokenError::InvalidSignature,
        ),
        case(
            "x5t, victim's kid",
            forged(&[&x5t], Some(victim.kid())),
            TokenError::InvalidSignature,
        ),
        case(
            "jwk and x5c together",
            forged(&[&jwk, &x5c], None),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;

    // HMAC flavour: the attacker's own shared secret, shipped as an `oct` JWK.
    let secret = [0x41u8; 32];
    let h = json!({ "alg": "HS256", "typ": "at+jwt", "kid": HS.signing_key().kid(), "jwk": { "kty": "oct", "k": b64(secret) } });
    let input = signing_input(&json_bytes(&h), &json_bytes(&claims()));
    let cases = [case(
        "embedded oct jwk, MACed with it",
        hmac_token(Algorithm::HS256, &secret, &input),
        TokenError::InvalidSignature,
    )];
    assert_refused(&validator(&HS), &cases).await;
}
