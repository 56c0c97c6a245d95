//! What every family shares: the frozen clock, the issuers, the table of hostile cases and
//! its runner, and the builders that sign arbitrary header and payload bytes with real keys.

use std::sync::LazyLock;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rampart::signing::SigningKey;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER, TestIssuer};
use rampart::{Algorithm, Claims, Profile, TokenError, TypPolicy, Validator};
use serde_json::{Value, json};

/// The frozen "now" every validator here runs at.
pub(crate) const NOW: i64 = 1_700_000_000;

pub(crate) static HS: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::HS256));
pub(crate) static ES: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::ES256));
pub(crate) static RS: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::RS256));
pub(crate) static ED: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::EdDSA));
/// A key the attacker controls (never configured in any validator).
pub(crate) static ATTACKER_ES: LazyLock<TestIssuer> =
    LazyLock::new(|| TestIssuer::new(Algorithm::ES256));

/// The P-256 group order n, big-endian.
pub(crate) const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
/// The P-384 group order n, big-endian.
pub(crate) const P384_N: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973";

// ---------------------------------------------------------------------------------------
// The table and its runner
// ---------------------------------------------------------------------------------------

/// One hostile token and the exact reason it must be refused for.
pub(crate) struct Case {
    name: String,
    token: String,
    expected: TokenError,
}

pub(crate) fn case(
    name: impl Into<String>,
    token: impl Into<String>,
    expected: TokenError,
) -> Case {
    Case {
        name: name.into(),
        token: token.into(),
        expected,
    }
}

/// Runs every case and reports all misbehaving ones at once.
pub(crate) async fn assert_refused(validator: &Validator, cases: &[Case]) {
    assert!(!cases.is_empty(), "an empty table proves nothing");
    let mut failures = Vec::new();
    for case in cases {
        let got = validator.validate(&case.token).await;
        match &got {
            Err(err) if *err == case.expected => {}
            _ => failures.push(format!(
                "  {}: expected Err({:?}), got {:?}",
                case.name, case.expected, got
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases were not refused as expected:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A positive control: the token must validate.
pub(crate) async fn assert_accepted(validator: &Validator, name: &str, token: &str) -> Claims {
    match validator.validate(token).await {
        Ok(claims) => claims,
        Err(err) => panic!("positive control {name:?} was refused: {err:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Token construction
// ---------------------------------------------------------------------------------------

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}

/// The validator for an issuer's key with default policy and a frozen clock.
pub(crate) fn validator(issuer: &TestIssuer) -> Validator {
    issuer
        .validator_builder()
        .clock(|| NOW)
        .build()
        .expect("the test validator builds")
}

/// The validator of [`validator`], for legacy issuers of plain JWTs: any `typ`, and only
/// `exp` (plus the configured `iss` and `aud`) required.
pub(crate) fn plain_jwt_validator(issuer: &TestIssuer) -> Validator {
    issuer
        .validator_builder()
        .clock(|| NOW)
        .typ(TypPolicy::Any)
        .profile(Profile::PlainJwt)
        .build()
        .expect("the test validator builds")
}

/// Well-formed claims, valid at `NOW` for the test issuer and audience: every claim
/// RFC 9068 §2.2 requires of an access token, and a scope.
pub(crate) fn claims() -> Value {
    json!({
        "iss": TEST_ISSUER,
        "aud": TEST_AUDIENCE,
        "sub": "alice",
        "client_id": "notes-app",
        "iat": NOW,
        "exp": NOW + 600,
        "jti": "jti-1",
        "scope": "notes:read",
    })
}

/// The header a well-behaved issuer writes for `key`.
pub(crate) fn header(key: &SigningKey) -> Value {
    json!({ "alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": key.kid() })
}

pub(crate) fn set(mut value: Value, name: &str, member: Value) -> Value {
    value
        .as_object_mut()
        .expect("a JSON object")
        .insert(name.to_owned(), member);
    value
}

pub(crate) fn unset(mut value: Value, name: &str) -> Value {
    value.as_object_mut().expect("a JSON object").remove(name);
    value
}

/// A token signed by `key` over exactly these header and payload values.
pub(crate) fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    key.sign_raw(&json_bytes(header), &json_bytes(payload))
        .expect("signing works")
}

/// A token signed by `key` over exactly these header and payload bytes.
pub(crate) fn sign_bytes(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    key.sign_raw(header, payload).expect("signing works")
}

/// The standard, valid token of an issuer.
pub(crate) fn good(issuer: &TestIssuer) -> String {
    let key = issuer.signing_key();
    sign(key, &header(key), &claims())
}

/// A token whose payload is `payload`, otherwise standard.
pub(crate) fn with_claims(issuer: &TestIssuer, payload: &Value) -> String {
    let key = issuer.signing_key();
    sign(key, &header(key), payload)
}

/// A token whose header is `header`, otherwise standard.
pub(crate) fn with_header(issuer: &TestIssuer, header: &Value) -> String {
    sign(issuer.signing_key(), header, &claims())
}

pub(crate) fn parts(token: &str) -> (&str, &str, &str) {
    let mut it = token.splitn(3, '.');
    let header = it.next().expect("header part");
    let payload = it.next().expect("payload part");
    let signature = it.next().expect("signature part");
    (header, payload, signature)
}

pub(crate) fn signature_bytes(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(parts(token).2)
        .expect("a canonical signature")
}

pub(crate) fn with_signature(token: &str, signature: &str) -> String {
    let (h, p, _) = parts(token);
    format!("{h}.{p}.{signature}")
}

/// A complete token: `signing_input` (used verbatim, whatever its encoding) plus an HMAC
/// over it with `secret`. Lets a case carry any bytes at all and still be correctly signed.
pub(crate) fn hmac_token(alg: Algorithm, secret: &[u8], signing_input: &str) -> String {
    use aws_lc_rs::hmac;
    let algorithm = match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        other => panic!("{other} is not an HMAC algorithm"),
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag.as_ref()))
}

/// An HS256 token signed with the HS issuer's real secret over a verbatim signing input.
pub(crate) fn hs_over(signing_input: &str) -> String {
    hmac_token(
        Algorithm::HS256,
        HS.signing_key().secret_bytes(),
        signing_input,
    )
}

pub(crate) fn es256_pair(
    key: &SigningKey,
    alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
) -> aws_lc_rs::signature::EcdsaKeyPair {
    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(alg, key.secret_bytes())
        .expect("a P-256 PKCS#8 key")
}

/// An ES256 signature (JOSE fixed-width r||s) over a verbatim signing input.
pub(crate) fn es256_token(key: &SigningKey, signing_input: &str) -> String {
    let pair = es256_pair(key, &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let signature = pair
        .sign(
            &aws_lc_rs::rand::SystemRandom::new(),
            signing_input.as_bytes(),
        )
        .expect("ECDSA signing works");
    format!("{signing_input}.{}", b64(signature.as_ref()))
}

pub(crate) fn signing_input(header_json: &[u8], payload_json: &[u8]) -> String {
    format!("{}.{}", b64(header_json), b64(payload_json))
}

pub(crate) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Little-endian addition of two 32-byte scalars (no overflow for the values used here).
pub(crate) fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "the sum fits in 32 bytes");
    out
}

/// Big-endian `a - b` of two 32-byte scalars, `a >= b`.
pub(crate) fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut diff = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(diff < 0);
        if diff < 0 {
            diff += 256;
        }
        out[i] = u8::try_from(diff).expect("a byte");
    }
    assert_eq!(borrow, 0, "a >= b");
    out
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// SubjectPublicKeyInfo DER of an asymmetric signing key's public half.
pub(crate) fn spki_der(key: &SigningKey) -> Vec<u8> {
    match key.algorithm() {
        Algorithm::ES256 => es256_pair(key, &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .public_key()
            .as_der()
            .expect("SPKI")
            .as_ref()
            .to_vec(),
        Algorithm::EdDSA => aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(key.secret_bytes())
            .expect("an Ed25519 PKCS#8 key")
            .public_key()
            .as_der()
            .expect("SPKI")
            .as_ref()
            .to_vec(),
        _ => aws_lc_rs::rsa::KeyPair::from_pkcs8(key.secret_bytes())
            .expect("an RSA PKCS#8 key")
            .public_key()
            .as_der()
            .expect("SPKI")
            .as_ref()
            .to_vec(),
    }
}

/// Flips an unused low bit of the last base64url character (the part must not be a
/// multiple of 3 bytes), giving a non-canonical encoding of the same bytes.
pub(crate) fn set_trailing_bits(part: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_ne!(
        part.len() % 4,
        0,
        "a part of whole 3-byte groups has no unused bits"
    );
    let last = part.as_bytes()[part.len() - 1];
    let index = ALPHABET
        .iter()
        .position(|&c| c == last)
        .expect("a base64url character");
    assert_eq!(index & 1, 0, "canonical encodings have zero unused bits");
    let mut out = part[..part.len() - 1].to_owned();
    out.push(char::from(ALPHABET[index | 1]));
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&out).ok(),
        None,
        "the encoder must see the non-canonical form"
    );
    out
}

pub(crate) fn padded(part: &str) -> String {
    let pad = (4 - part.len() % 4) % 4;
    assert!(pad > 0, "a part of whole 3-byte groups takes no padding");
    format!("{part}{}", "=".repeat(pad))
}

/// Grows a JSON object with whitespace until its byte length is not a multiple of 3, so its
/// base64url form has unused bits and needs padding.
pub(crate) fn unaligned(json: &str) -> String {
    let mut json = json.to_owned();
    while json.len().is_multiple_of(3) {
        json.insert(json.len() - 1, ' ');
    }
    json
}
