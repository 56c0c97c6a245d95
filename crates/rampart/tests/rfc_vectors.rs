//! Known-answer tests: the example JWSs of RFC 7515 Appendix A.1–A.3 and RFC 8037
//! Appendix A.4, verified with the keys the RFCs publish, through the production
//! validator. Real cryptography, no mocks: if any of these fail, interoperability is broken.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampart::{Algorithm, Profile, TokenError, TypPolicy, Validator, VerifyingKey};
use serde_json::{Value, json};

/// The instant the RFC 7515 examples are checked at: ten seconds before their `exp`.
const RFC7515_NOW: i64 = 1_300_819_370;
/// The `exp` of every RFC 7515 Appendix A example.
const RFC7515_EXP: i64 = 1_300_819_380;
/// The payload shared by RFC 7515 A.1–A.3, decoded (note the CRLF whitespace).
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// RFC 7515 Appendix A.1: HS256, header `{"typ":"JWT",\r\n "alg":"HS256"}`.
const A1_JWS: &str = concat!(
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
);
/// RFC 7515 Appendix A.1: the `k` of the symmetric JWK (64 bytes once decoded).
const A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

/// RFC 7515 Appendix A.2: RS256, header `{"alg":"RS256"}`.
const A2_JWS: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
);
/// RFC 7515 Appendix A.2: the RSA public key's modulus `n` (2048 bits).
const A2_N: &str = concat!(
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-",
    "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2Cap",
    "Hg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4",
    "FRWyuXpoQ",
);
/// RFC 7515 Appendix A.2: the RSA public exponent `e`.
const A2_E: &str = "AQAB";

/// RFC 7515 Appendix A.3: ES256, header `{"alg":"ES256"}`.
const A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
);
/// RFC 7515 Appendix A.3: the P-256 public key.
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

/// RFC 8037 Appendix A.4: EdDSA (Ed25519), header `{"alg":"EdDSA"}`.
const A4_JWS: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9",
    ".",
    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
    ".",
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
);
/// RFC 8037 Appendix A.2: the Ed25519 public key.
const A4_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const A4_PAYLOAD: &[u8] = b"Example of Ed25519 signing";

fn a1_key() -> VerifyingKey {
    let secret = URL_SAFE_NO_PAD
        .decode(A1_K)
        .expect("the RFC key is base64url");
    assert_eq!(secret.len(), 64, "RFC 7515 A.1 publishes a 64-byte key");
    VerifyingKey::hmac(Algorithm::HS256, &secret).expect("a 64-byte HS256 secret is accepted")
}

fn a2_key() -> VerifyingKey {
    VerifyingKey::from_jwk(&json!({ "kty": "RSA", "n": A2_N, "e": A2_E }))
        .expect("the RFC 7515 A.2 RSA key loads")
}

fn a3_key() -> VerifyingKey {
    VerifyingKey::from_jwk(&json!({ "kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y }))
        .expect("the RFC 7515 A.3 P-256 key loads")
}

fn a4_key() -> VerifyingKey {
    VerifyingKey::from_jwk(&json!({ "kty": "OKP", "crv": "Ed25519", "x": A4_X }))
        .expect("the RFC 8037 Ed25519 key loads")
}

/// The validator the RFC 7515 examples are written for: issuer `joe`, no audience, any
/// `typ`, the plain JWT profile (they carry only `iss` and `exp`, not the claims RFC 9068
/// requires of an access token), and a clock frozen at `now`.
fn rfc7515_validator(key: VerifyingKey, now: i64) -> Validator {
    Validator::builder()
        .clock(move || now)
        .typ(TypPolicy::Any)
        .profile(Profile::PlainJwt)
        .issuer("joe")
        .insecure_skip_aud()
        .keys([key])
        .build()
        .expect("the RFC 7515 validator builds")
}

/// Every token that differs from `token` in exactly one signature character.
fn one_char_signature_changes(token: &str) -> Vec<String> {
    let sig_start = token.rfind('.').expect("a compact JWS") + 1;
    (sig_start..token.len())
        .map(|i| {
            let original = token.as_bytes()[i];
            let replacement = if original == b'A' { 'B' } else { 'A' };
            let mut changed = token.to_owned();
            changed.replace_range(i..=i, &replacement.to_string());
            changed
        })
        .collect()
}

async fn assert_rfc7515_vector_validates(name: &str, token: &str, key: VerifyingKey) {
    let validator = rfc7515_validator(key, RFC7515_NOW);
    let claims = validator
        .validate(token)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(claims.iss.as_deref(), Some("joe"), "{name}");
    assert_eq!(claims.exp, Some(RFC7515_EXP), "{name}");
    assert!(
        claims.aud.is_empty() && claims.sub.is_none() && claims.iat.is_none(),
        "{name}"
    );

    let (_, all): (_, Value) = validator
        .validate_as(token)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        all,
        json!({ "iss": "joe", "exp": RFC7515_EXP, "http://example.com/is_root": true }),
        "{name}"
    );

    let payload = validator
        .insecure_verify_jws_without_claims(token)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        payload, RFC7515_PAYLOAD,
        "{name}: the JWS payload is the RFC's bytes, CRLFs included"
    );
}

async fn assert_every_one_char_signature_change_is_refused(
    name: &str,
    token: &str,
    key: VerifyingKey,
) {
    let validator = rfc7515_validator(key, RFC7515_NOW);
    validator
        .validate(token)
        .await
        .unwrap_or_else(|e| panic!("{name}: the unmodified vector must pass: {e}"));
    let changed = one_char_signature_changes(token);
    assert!(!changed.is_empty());
    for forged in changed {
        assert_eq!(
            validator.validate(&forged).await,
            Err(TokenError::InvalidSignature),
            "{name}: {forged}"
        );
        assert_eq!(
            validator.insecure_verify_jws_without_claims(&forged).await,
            Err(TokenError::InvalidSignature),
            "{name}: {forged}"
        );
    }
}

#[tokio::test]
async fn rfc7515_a1_hs256_example_validates_with_the_published_key() {
    assert_rfc7515_vector_validates("A.1", A1_JWS, a1_key()).await;
}

#[tokio::test]
async fn rfc7515_a1_hs256_example_is_expired_after_its_exp_plus_leeway() {
    // Default leeway is 30 s: still accepted 29 s after `exp`, refused from 30 s on.
    let late = rfc7515_validator(a1_key(), RFC7515_EXP + 29);
    assert!(late.validate(A1_JWS).await.is_ok());
    for now in [
        RFC7515_EXP + 30,
        RFC7515_EXP + 31,
        RFC7515_EXP + 86_400 * 365 * 10,
    ] {
        let expired = rfc7515_validator(a1_key(), now);
        assert_eq!(
            expired.validate(A1_JWS).await,
            Err(TokenError::Expired),
            "now = {now}"
        );
    }
}

#[tokio::test]
async fn rfc7515_a1_hs256_example_is_refused_as_an_access_token_because_its_typ_is_jwt() {
    let strict = Validator::builder()
        .clock(|| RFC7515_NOW)
        .issuer("joe")
        .insecure_skip_aud()
        .keys([a1_key()])
        .build()
        .unwrap();
    assert_eq!(strict.validate(A1_JWS).await, Err(TokenError::WrongType));
}

/// Accepting any `typ` does not make a plain JWT an access token: under the default
/// profile the example lacks `aud`, `sub`, `client_id`, `iat` and `jti` (RFC 9068 §2.2),
/// and the first one missing is named.
#[tokio::test]
async fn rfc7515_a1_hs256_example_is_refused_under_the_access_token_profile_even_with_any_typ() {
    let any_typ = Validator::builder()
        .clock(|| RFC7515_NOW)
        .typ(TypPolicy::Any)
        .issuer("joe")
        .insecure_skip_aud()
        .keys([a1_key()])
        .build()
        .unwrap();
    assert_eq!(
        any_typ.validate(A1_JWS).await,
        Err(TokenError::MissingClaim("aud"))
    );
}

#[tokio::test]
async fn rfc7515_a1_hs256_example_is_refused_for_another_issuer_or_a_required_audience() {
    let other_issuer = Validator::builder()
        .clock(|| RFC7515_NOW)
        .typ(TypPolicy::Any)
        .profile(Profile::PlainJwt)
        .issuer("https://joe")
        .insecure_skip_aud()
        .keys([a1_key()])
        .build()
        .unwrap();
    assert_eq!(
        other_issuer.validate(A1_JWS).await,
        Err(TokenError::WrongIssuer)
    );
    let audience = Validator::builder()
        .clock(|| RFC7515_NOW)
        .typ(TypPolicy::Any)
        .profile(Profile::PlainJwt)
        .issuer("joe")
        .audience("api")
        .keys([a1_key()])
        .build()
        .unwrap();
    assert_eq!(
        audience.validate(A1_JWS).await,
        Err(TokenError::MissingClaim("aud"))
    );
}

#[tokio::test]
async fn rfc7515_a1_hs256_example_fails_when_any_signature_character_changes() {
    assert_every_one_char_signature_change_is_refused("A.1", A1_JWS, a1_key()).await;
}

#[tokio::test]
async fn rfc7515_a2_rs256_example_validates_with_the_published_key() {
    assert_rfc7515_vector_validates("A.2", A2_JWS, a2_key()).await;
    assert_eq!(
        a2_key().algorithm(),
        Algorithm::RS256,
        "an RSA JWK without `alg` is bound to RS256"
    );
}

#[tokio::test]
async fn rfc7515_a2_rs256_example_is_expired_after_its_exp_plus_leeway() {
    let expired = rfc7515_validator(a2_key(), RFC7515_EXP + 31);
    assert_eq!(expired.validate(A2_JWS).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn rfc7515_a2_rs256_example_fails_when_any_signature_character_changes() {
    assert_every_one_char_signature_change_is_refused("A.2", A2_JWS, a2_key()).await;
}

#[tokio::test]
async fn rfc7515_a2_rs256_example_is_refused_by_a_key_bound_to_ps256() {
    let ps256 =
        VerifyingKey::from_jwk(&json!({ "kty": "RSA", "alg": "PS256", "n": A2_N, "e": A2_E }))
            .unwrap();
    let validator = rfc7515_validator(ps256, RFC7515_NOW);
    assert_eq!(
        validator.validate(A2_JWS).await,
        Err(TokenError::AlgorithmMismatch)
    );
}

#[tokio::test]
async fn rfc7515_a3_es256_example_validates_with_the_published_key() {
    assert_rfc7515_vector_validates("A.3", A3_JWS, a3_key()).await;
    assert_eq!(
        a3_key().algorithm(),
        Algorithm::ES256,
        "a P-256 JWK without `alg` is bound to ES256"
    );
}

#[tokio::test]
async fn rfc7515_a3_es256_example_is_expired_after_its_exp_plus_leeway() {
    let expired = rfc7515_validator(a3_key(), RFC7515_EXP + 31);
    assert_eq!(expired.validate(A3_JWS).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn rfc7515_a3_es256_example_fails_when_any_signature_character_changes() {
    assert_every_one_char_signature_change_is_refused("A.3", A3_JWS, a3_key()).await;
}

#[tokio::test]
async fn rfc7515_examples_do_not_verify_under_each_others_keys() {
    // Each key is bound to its algorithm, so a vector presented to another vector's key is
    // refused before any cryptography.
    let cases = [
        (A1_JWS, a2_key()),
        (A1_JWS, a3_key()),
        (A2_JWS, a1_key()),
        (A2_JWS, a3_key()),
        (A3_JWS, a1_key()),
        (A3_JWS, a2_key()),
        (A4_JWS, a3_key()),
    ];
    for (token, key) in cases {
        let alg = key.algorithm();
        let validator = rfc7515_validator(key, RFC7515_NOW);
        assert_eq!(
            validator.insecure_verify_jws_without_claims(token).await,
            Err(TokenError::AlgorithmMismatch),
            "{alg}: {token}"
        );
    }
}

fn a4_validator() -> Validator {
    Validator::builder()
        .insecure_skip_iss()
        .insecure_skip_aud()
        .keys([a4_key()])
        .build()
        .expect("the RFC 8037 validator builds")
}

#[tokio::test]
async fn rfc8037_a4_ed25519_example_verifies_as_a_jws_with_the_published_key() {
    assert_eq!(a4_key().algorithm(), Algorithm::EdDSA);
    let payload = a4_validator()
        .insecure_verify_jws_without_claims(A4_JWS)
        .await
        .expect("RFC 8037 A.4 verifies");
    assert_eq!(payload, A4_PAYLOAD);
}

#[tokio::test]
async fn rfc8037_a4_ed25519_example_is_not_a_jwt_so_full_validation_refuses_it() {
    // Its payload is plain text: a JWS, but not a JWT (and it has no `typ`).
    assert_eq!(
        a4_validator().validate(A4_JWS).await,
        Err(TokenError::WrongType)
    );
    let any_typ = Validator::builder()
        .typ(TypPolicy::Any)
        .insecure_skip_iss()
        .insecure_skip_aud()
        .keys([a4_key()])
        .build()
        .unwrap();
    assert_eq!(any_typ.validate(A4_JWS).await, Err(TokenError::Malformed));
}

#[tokio::test]
async fn rfc8037_a4_ed25519_example_fails_when_any_signature_character_changes() {
    let validator = a4_validator();
    for forged in one_char_signature_changes(A4_JWS) {
        assert_eq!(
            validator.insecure_verify_jws_without_claims(&forged).await,
            Err(TokenError::InvalidSignature),
            "{forged}"
        );
    }
}

#[tokio::test]
async fn rfc8037_a4_ed25519_example_fails_when_its_payload_changes() {
    let forged = A4_JWS.replacen(
        "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
        &URL_SAFE_NO_PAD.encode(b"Example of Ed25519 signinG"),
        1,
    );
    assert_ne!(forged, A4_JWS);
    assert_eq!(
        a4_validator()
            .insecure_verify_jws_without_claims(&forged)
            .await,
        Err(TokenError::InvalidSignature)
    );
}
