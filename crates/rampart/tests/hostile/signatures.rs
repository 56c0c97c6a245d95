//! Signatures: out-of-range ECDSA scalars, unreduced Ed25519 `s`, stripped, foreign,
//! truncated or extended signatures, tampered headers and payloads.

use rampart::signing::SigningKey;
use rampart::testing::TestIssuer;
use rampart::{Algorithm, TokenError};
use serde_json::{Value, json};

use super::helpers::*;

#[tokio::test]
async fn ecdsa_signatures_with_zero_or_out_of_range_scalars_are_refused() {
    // CVE-2022-21449 ("psychic signatures"): r = s = 0 verified any message in Java 15–18.
    let key = ES.signing_key();
    let token = good(&ES);
    let v = validator(&ES);
    assert_accepted(&v, "ES256 control", &token).await;
    let sig = signature_bytes(&token);
    let (r, s) = sig.split_at(32);
    let n = hex(P256_N);
    let n_plus_one = {
        let mut x = n.clone();
        x[31] += 1;
        x
    };
    let zero = [0u8; 32];
    let one = {
        let mut x = [0u8; 32];
        x[31] = 1;
        x
    };
    let ff = [0xffu8; 32];
    let rs = |r: &[u8], s: &[u8]| with_signature(&token, &b64([r, s].concat()));
    let der = {
        let pair = es256_pair(key, &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING);
        let (h, p, _) = parts(&token);
        let input = format!("{h}.{p}");
        pair.sign(&aws_lc_rs::rand::SystemRandom::new(), input.as_bytes())
            .expect("signing")
            .as_ref()
            .to_vec()
    };
    let cases = [
        case(
            "psychic: r = s = 0 (64 zero bytes)",
            rs(&zero, &zero),
            TokenError::InvalidSignature,
        ),
        case(
            "psychic without kid",
            {
                let h = json!({ "alg": "ES256", "typ": "at+jwt" });
                format!(
                    "{}.{}",
                    signing_input(&json_bytes(&h), &json_bytes(&claims())),
                    b64([0u8; 64])
                )
            },
            TokenError::InvalidSignature,
        ),
        case("r = 0, real s", rs(&zero, s), TokenError::InvalidSignature),
        case("real r, s = 0", rs(r, &zero), TokenError::InvalidSignature),
        case("r = s = n", rs(&n, &n), TokenError::InvalidSignature),
        case("r = n, real s", rs(&n, s), TokenError::InvalidSignature),
        case("real r, s = n", rs(r, &n), TokenError::InvalidSignature),
        case(
            "r = n + 1, real s",
            rs(&n_plus_one, s),
            TokenError::InvalidSignature,
        ),
        case("r = s = 1", rs(&one, &one), TokenError::InvalidSignature),
        case(
            "r = s = 2^256 - 1",
            rs(&ff, &ff),
            TokenError::InvalidSignature,
        ),
        case("r and s swapped", rs(s, r), TokenError::InvalidSignature),
        case(
            "ASN.1 DER signature instead of r||s",
            with_signature(&token, &b64(&der)),
            TokenError::InvalidSignature,
        ),
        case(
            "r||s of 32 bytes only",
            with_signature(&token, &b64(r)),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;

    let es384 = TestIssuer::new(Algorithm::ES384);
    let token = good(&es384);
    let v = validator(&es384);
    assert_accepted(&v, "ES384 control", &token).await;
    let n = hex(P384_N);
    let cases = [
        case(
            "ES384 psychic: 96 zero bytes",
            with_signature(&token, &b64([0u8; 96])),
            TokenError::InvalidSignature,
        ),
        case(
            "ES384 r = s = n",
            with_signature(&token, &b64([n.as_slice(), n.as_slice()].concat())),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn ed25519_signatures_with_an_unreduced_s_are_refused() {
    // Ed25519 malleability: (R, S + L) satisfies the verification equation too; RFC 8032
    // §5.1.7 requires S < L, and so must we.
    const ED25519_L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let token = good(&ED);
    let v = validator(&ED);
    assert_accepted(&v, "EdDSA control", &token).await;
    let sig = signature_bytes(&token);
    let (r, s) = sig.split_at(32);
    let cases = [
        case(
            "S + L",
            with_signature(&token, &b64([r, &add_le(s, &ED25519_L)].concat())),
            TokenError::InvalidSignature,
        ),
        case(
            "S = L",
            with_signature(&token, &b64([r, ED25519_L.as_slice()].concat())),
            TokenError::InvalidSignature,
        ),
        case(
            "R and S zero",
            with_signature(&token, &b64([0u8; 64])),
            TokenError::InvalidSignature,
        ),
        case(
            "S all ones",
            with_signature(&token, &b64([r, [0xffu8; 32].as_slice()].concat())),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn ecdsa_high_s_signatures_verify_as_rfc7518_allows_so_token_bytes_are_not_an_identity() {
    // (r, n - s) is as valid as (r, s): JWS does not mandate low-S and common signers do not
    // normalise, so refusing it would break interoperability. The consequence, recorded
    // here on purpose: two different token strings can carry the same signed claims, so
    // anything that must identify a token (revocation, replay) keys on `jti`, never on the
    // token bytes.
    let token = good(&ES);
    let v = validator(&ES);
    let sig = signature_bytes(&token);
    let (r, s) = sig.split_at(32);
    let flipped = with_signature(&token, &b64([r, &sub_be(&hex(P256_N), s)].concat()));
    assert_ne!(flipped, token);
    let original = assert_accepted(&v, "original", &token).await;
    let twin = assert_accepted(&v, "high-s twin", &flipped).await;
    assert_eq!(original, twin);
    assert_eq!(twin.jti.as_deref(), Some("jti-1"));
}

#[tokio::test]
async fn stripped_empty_foreign_truncated_or_extended_signatures_are_refused() {
    for issuer in [&*HS, &*ES, &*RS, &*ED] {
        let key = issuer.signing_key();
        let alg = key.algorithm();
        let token = good(issuer);
        let v = validator(issuer);
        assert_accepted(&v, alg.as_str(), &token).await;
        let (h, p, s) = parts(&token);
        let sig = signature_bytes(&token);
        // Another key of the same algorithm, impersonating the real kid.
        let impostor = SigningKey::from_secret(
            alg,
            SigningKey::generate(alg).unwrap().secret_bytes().to_vec(),
            Some(key.kid().to_owned()),
        )
        .unwrap();
        let other_payload = sign(key, &header(key), &set(claims(), "sub", json!("mallory")));
        let cases = [
            case(
                format!("{alg}: signature part stripped (h.p)"),
                format!("{h}.{p}"),
                TokenError::Malformed,
            ),
            case(
                format!("{alg}: empty signature (h.p.)"),
                format!("{h}.{p}."),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature by another key with the same kid"),
                sign(&impostor, &header(key), &claims()),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature of another token by the real key"),
                with_signature(&token, parts(&other_payload).2),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature missing its last byte"),
                with_signature(&token, &b64(&sig[..sig.len() - 1])),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature cut in half"),
                with_signature(&token, &b64(&sig[..sig.len() / 2])),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature missing its last character"),
                with_signature(&token, &s[..s.len() - 1]),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature with a zero byte appended"),
                with_signature(&token, &b64([sig.as_slice(), &[0]].concat())),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature with characters appended"),
                with_signature(&token, &format!("{s}AAAA")),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature given twice"),
                with_signature(&token, &b64([sig.as_slice(), sig.as_slice()].concat())),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: signature all zero"),
                with_signature(&token, &b64(vec![0u8; sig.len()])),
                TokenError::InvalidSignature,
            ),
        ];
        assert_refused(&v, &cases).await;
    }
}

#[tokio::test]
async fn a_tampered_header_or_payload_does_not_verify_with_the_original_signature() {
    for issuer in [&*HS, &*ES, &*RS, &*ED] {
        let key = issuer.signing_key();
        let alg = key.algorithm();
        let token = good(issuer);
        let v = validator(issuer);
        assert_accepted(&v, alg.as_str(), &token).await;
        let (h, p, s) = parts(&token);
        let reheader = |header: &Value| format!("{}.{p}.{s}", b64(json_bytes(header)));
        let repayload = |payload: &Value| format!("{h}.{}.{s}", b64(json_bytes(payload)));
        let cases = [
            case(
                format!("{alg}: header gains a member"),
                reheader(&set(header(key), "x", json!(1))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: header typ re-cased"),
                reheader(&set(header(key), "typ", json!("AT+JWT"))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: header re-serialized with spaces"),
                format!(
                    "{}.{p}.{s}",
                    b64(format!(
                        "{{ \"alg\": \"{alg}\", \"typ\": \"at+jwt\", \"kid\": \"{}\" }}",
                        key.kid()
                    ))
                ),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: sub changed"),
                repayload(&set(claims(), "sub", json!("admin"))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: exp pushed out"),
                repayload(&set(claims(), "exp", json!(NOW + 86_400 * 365))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: roles added"),
                repayload(&set(claims(), "roles", json!(["admin"]))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: scope widened"),
                repayload(&set(claims(), "scope", json!("notes:read notes:write"))),
                TokenError::InvalidSignature,
            ),
            case(
                format!("{alg}: aud removed"),
                repayload(&unset(claims(), "aud")),
                TokenError::InvalidSignature,
            ),
        ];
        assert_refused(&v, &cases).await;
    }
}
