//! Algorithm confusion: an HMAC keyed with a public key, an `alg` other than the key's
//! binding (RFC 8725 §3.1, §3.2).

use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampart::signing::SigningKey;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};
use rampart::{Algorithm, TokenError, Validator, VerifyingKey};
use serde_json::json;

use super::helpers::*;

#[tokio::test]
async fn an_hs256_token_keyed_with_an_asymmetric_public_key_is_refused_before_any_crypto() {
    // The classic RS256 → HS256 confusion (CVE-2015-9235 and kin): the attacker MACs the
    // token with the server's *public* key, in every form a server might hold it.
    let rsa = RS.signing_key();
    let ec = ES.signing_key();
    let ed = ED.signing_key();
    let rsa_pem = pem("PUBLIC KEY", &spki_der(rsa));
    let ec_pem = pem("PUBLIC KEY", &spki_der(ec));
    let ed_pem = pem("PUBLIC KEY", &spki_der(ed));

    // The PEMs really are the public keys these validators trust.
    for (issuer, pem) in [(&*RS, &rsa_pem), (&*ES, &ec_pem), (&*ED, &ed_pem)] {
        let key = issuer.signing_key();
        let from_pem = VerifyingKey::from_pem(key.algorithm(), pem.as_bytes())
            .expect("the PEM loads")
            .with_kid(key.kid());
        let v = Validator::builder()
            .issuer(TEST_ISSUER)
            .audience(TEST_AUDIENCE)
            .clock(|| NOW)
            .keys([from_pem])
            .build()
            .unwrap();
        assert_accepted(&v, "the PEM verifies its own token", &good(issuer)).await;
    }

    let rsa_jwk = json_bytes(&rsa.public_jwk().expect("an RSA JWK"));
    let rsa_n = URL_SAFE_NO_PAD
        .decode(rsa.public_jwk().expect("JWK")["n"].as_str().expect("n"))
        .expect("n");
    let ec_jwk = json_bytes(&ec.public_jwk().expect("an EC JWK"));
    let ed_jwk = json_bytes(&ed.public_jwk().expect("an OKP JWK"));
    let ec_point = es256_pair(ec, &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .public_key()
        .as_ref()
        .to_vec();
    let ed_raw = URL_SAFE_NO_PAD
        .decode(ed.public_jwk().expect("JWK")["x"].as_str().expect("x"))
        .expect("x");

    let secrets: Vec<(&str, &SigningKey, Vec<u8>)> = vec![
        ("RSA SPKI PEM text", rsa, rsa_pem.clone().into_bytes()),
        (
            "RSA SPKI PEM text without final newline",
            rsa,
            rsa_pem.trim_end().as_bytes().to_vec(),
        ),
        ("RSA SPKI DER", rsa, spki_der(rsa)),
        ("RSA JWK JSON", rsa, rsa_jwk),
        ("RSA modulus bytes", rsa, rsa_n),
        ("EC SPKI PEM text", ec, ec_pem.clone().into_bytes()),
        ("EC SPKI DER", ec, spki_der(ec)),
        ("EC JWK JSON", ec, ec_jwk),
        ("EC uncompressed point", ec, ec_point),
        ("Ed25519 SPKI PEM text", ed, ed_pem.clone().into_bytes()),
        ("Ed25519 JWK JSON", ed, ed_jwk),
        ("Ed25519 raw public key", ed, ed_raw),
    ];

    let all = Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .clock(|| NOW)
        .keys([rsa.verifying_key(), ec.verifying_key(), ed.verifying_key()])
        .build()
        .unwrap();
    let mut with_kid = Vec::new();
    for (what, victim, secret) in &secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let h = json!({ "alg": alg.as_str(), "typ": "at+jwt", "kid": victim.kid() });
            let input = signing_input(&json_bytes(&h), &json_bytes(&claims()));
            with_kid.push(case(
                format!("{alg} MACed with the {what}, real kid"),
                hmac_token(alg, secret, &input),
                TokenError::AlgorithmMismatch,
            ));
        }
        // Without a kid and several keys, no key is bound to HS256 at all.
        let h = json!({ "alg": "HS256", "typ": "at+jwt" });
        let input = signing_input(&json_bytes(&h), &json_bytes(&claims()));
        with_kid.push(case(
            format!("HS256 MACed with the {what}, no kid, multi-key set"),
            hmac_token(Algorithm::HS256, secret, &input),
            TokenError::UnknownKey,
        ));
    }
    assert_refused(&all, &with_kid).await;

    // Single-key validators: without a kid the only key is selected, and its binding refuses.
    for (issuer, name) in [(&*RS, "RSA"), (&*ES, "EC"), (&*ED, "Ed25519")] {
        let v = validator(issuer);
        assert_accepted(&v, name, &good(issuer)).await;
        let cases: Vec<Case> = secrets
            .iter()
            .filter(|(_, victim, _)| victim.kid() == issuer.signing_key().kid())
            .map(|(what, _, secret)| {
                let h = json!({ "alg": "HS256", "typ": "at+jwt" });
                let input = signing_input(&json_bytes(&h), &json_bytes(&claims()));
                case(
                    format!("HS256 MACed with the {what}, no kid, single {name} key"),
                    hmac_token(Algorithm::HS256, secret, &input),
                    TokenError::AlgorithmMismatch,
                )
            })
            .collect();
        assert_refused(&v, &cases).await;
    }
}

#[tokio::test]
async fn a_token_whose_alg_differs_from_its_keys_binding_is_refused_before_any_crypto() {
    let (rsa, ec, ed) = (RS.signing_key(), ES.signing_key(), ED.signing_key());
    let all = Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .clock(|| NOW)
        .keys([rsa.verifying_key(), ec.verifying_key(), ed.verifying_key()])
        .build()
        .unwrap();
    for issuer in [&*RS, &*ES, &*ED] {
        assert_accepted(
            &all,
            issuer.signing_key().algorithm().as_str(),
            &good(issuer),
        )
        .await;
    }
    let lie = |signer: &SigningKey, alg: &str, kid: &str| {
        sign(
            signer,
            &json!({ "alg": alg, "typ": "at+jwt", "kid": kid }),
            &claims(),
        )
    };
    let cases = [
        case(
            "RS256 header naming the ES256 key",
            lie(rsa, "RS256", ec.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "ES256 header naming the RS256 key",
            lie(ec, "ES256", rsa.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "EdDSA header naming the ES256 key",
            lie(ed, "EdDSA", ec.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "ES256 header naming the EdDSA key",
            lie(ec, "ES256", ed.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "PS256 header naming the RS256 key",
            lie(rsa, "PS256", rsa.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "RS512 header naming the RS256 key",
            lie(rsa, "RS512", rsa.kid()),
            TokenError::AlgorithmMismatch,
        ),
        case(
            "ES384 header naming the ES256 key",
            lie(ec, "ES384", ec.kid()),
            TokenError::AlgorithmMismatch,
        ),
    ];
    assert_refused(&all, &cases).await;

    // Single ES256 key, no kid: an RS256 token is refused by the binding, not by the crypto.
    let cases = [case(
        "RS256 token without kid against a lone ES256 key",
        sign(rsa, &json!({ "alg": "RS256", "typ": "at+jwt" }), &claims()),
        TokenError::AlgorithmMismatch,
    )];
    assert_refused(&validator(&ES), &cases).await;
}
