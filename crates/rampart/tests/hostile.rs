//! Hostile tokens: every case is a token an attacker could send, with the exact reason the
//! validator must give for refusing it. Organised by attack class (RFC 8725 §2–3 and the
//! usual JWT CVE families). Tokens are minted with real keys (`TestIssuer`, `sign_raw`, or
//! a signature computed here over arbitrary bytes) so that a case is refused for the reason
//! it names, not because its signature happens to be wrong. Every group has positive
//! controls built with the same helpers, so the suite cannot pass vacuously.

use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use rampart::signing::SigningKey;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER, TestIssuer};
use rampart::{Algorithm, Claims, Profile, TokenError, TypPolicy, Validator, VerifyingKey};
use serde_json::{Value, json};

/// The frozen "now" every validator here runs at.
const NOW: i64 = 1_700_000_000;

static HS: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::HS256));
static ES: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::ES256));
static RS: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::RS256));
static ED: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::EdDSA));
/// A key the attacker controls (never configured in any validator).
static ATTACKER_ES: LazyLock<TestIssuer> = LazyLock::new(|| TestIssuer::new(Algorithm::ES256));

/// The P-256 group order n, big-endian.
const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
/// The P-384 group order n, big-endian.
const P384_N: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973";

// ---------------------------------------------------------------------------------------
// The table and its runner
// ---------------------------------------------------------------------------------------

/// One hostile token and the exact reason it must be refused for.
struct Case {
    name: String,
    token: String,
    expected: TokenError,
}

fn case(name: impl Into<String>, token: impl Into<String>, expected: TokenError) -> Case {
    Case {
        name: name.into(),
        token: token.into(),
        expected,
    }
}

/// Runs every case and reports all misbehaving ones at once.
async fn assert_refused(validator: &Validator, cases: &[Case]) {
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
async fn assert_accepted(validator: &Validator, name: &str, token: &str) -> Claims {
    match validator.validate(token).await {
        Ok(claims) => claims,
        Err(err) => panic!("positive control {name:?} was refused: {err:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Token construction
// ---------------------------------------------------------------------------------------

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}

/// The validator for an issuer's key with default policy and a frozen clock.
fn validator(issuer: &TestIssuer) -> Validator {
    issuer
        .validator_builder()
        .clock(|| NOW)
        .build()
        .expect("the test validator builds")
}

/// The validator of [`validator`], for legacy issuers of plain JWTs: any `typ`, and only
/// `exp` (plus the configured `iss` and `aud`) required.
fn plain_jwt_validator(issuer: &TestIssuer) -> Validator {
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
fn claims() -> Value {
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
fn header(key: &SigningKey) -> Value {
    json!({ "alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": key.kid() })
}

fn set(mut value: Value, name: &str, member: Value) -> Value {
    value
        .as_object_mut()
        .expect("a JSON object")
        .insert(name.to_owned(), member);
    value
}

fn unset(mut value: Value, name: &str) -> Value {
    value.as_object_mut().expect("a JSON object").remove(name);
    value
}

/// A token signed by `key` over exactly these header and payload values.
fn sign(key: &SigningKey, header: &Value, payload: &Value) -> String {
    key.sign_raw(&json_bytes(header), &json_bytes(payload))
        .expect("signing works")
}

/// A token signed by `key` over exactly these header and payload bytes.
fn sign_bytes(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    key.sign_raw(header, payload).expect("signing works")
}

/// The standard, valid token of an issuer.
fn good(issuer: &TestIssuer) -> String {
    let key = issuer.signing_key();
    sign(key, &header(key), &claims())
}

/// A token whose payload is `payload`, otherwise standard.
fn with_claims(issuer: &TestIssuer, payload: &Value) -> String {
    let key = issuer.signing_key();
    sign(key, &header(key), payload)
}

/// A token whose header is `header`, otherwise standard.
fn with_header(issuer: &TestIssuer, header: &Value) -> String {
    sign(issuer.signing_key(), header, &claims())
}

fn parts(token: &str) -> (&str, &str, &str) {
    let mut it = token.splitn(3, '.');
    let header = it.next().expect("header part");
    let payload = it.next().expect("payload part");
    let signature = it.next().expect("signature part");
    (header, payload, signature)
}

fn signature_bytes(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(parts(token).2)
        .expect("a canonical signature")
}

fn with_signature(token: &str, signature: &str) -> String {
    let (h, p, _) = parts(token);
    format!("{h}.{p}.{signature}")
}

/// A complete token: `signing_input` (used verbatim, whatever its encoding) plus an HMAC
/// over it with `secret`. Lets a case carry any bytes at all and still be correctly signed.
fn hmac_token(alg: Algorithm, secret: &[u8], signing_input: &str) -> String {
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
fn hs_over(signing_input: &str) -> String {
    hmac_token(
        Algorithm::HS256,
        HS.signing_key().secret_bytes(),
        signing_input,
    )
}

fn es256_pair(
    key: &SigningKey,
    alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
) -> aws_lc_rs::signature::EcdsaKeyPair {
    aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(alg, key.secret_bytes())
        .expect("a P-256 PKCS#8 key")
}

/// An ES256 signature (JOSE fixed-width r||s) over a verbatim signing input.
fn es256_token(key: &SigningKey, signing_input: &str) -> String {
    let pair = es256_pair(key, &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING);
    let signature = pair
        .sign(
            &aws_lc_rs::rand::SystemRandom::new(),
            signing_input.as_bytes(),
        )
        .expect("ECDSA signing works");
    format!("{signing_input}.{}", b64(signature.as_ref()))
}

fn signing_input(header_json: &[u8], payload_json: &[u8]) -> String {
    format!("{}.{}", b64(header_json), b64(payload_json))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Little-endian addition of two 32-byte scalars (no overflow for the values used here).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
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
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
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

fn pem(label: &str, der: &[u8]) -> String {
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
fn spki_der(key: &SigningKey) -> Vec<u8> {
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
fn set_trailing_bits(part: &str) -> String {
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

fn padded(part: &str) -> String {
    let pad = (4 - part.len() % 4) % 4;
    assert!(pad > 0, "a part of whole 3-byte groups takes no padding");
    format!("{part}{}", "=".repeat(pad))
}

/// Grows a JSON object with whitespace until its byte length is not a multiple of 3, so its
/// base64url form has unused bits and needs padding.
fn unaligned(json: &str) -> String {
    let mut json = json.to_owned();
    while json.len().is_multiple_of(3) {
        json.insert(json.len() - 1, ' ');
    }
    json
}

// ---------------------------------------------------------------------------------------
// Positive controls
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_well_formed_token_of_every_algorithm_family_is_accepted() {
    for issuer in [&*HS, &*ES, &*RS, &*ED] {
        let alg = issuer.signing_key().algorithm();
        let claims = assert_accepted(&validator(issuer), alg.as_str(), &good(issuer)).await;
        assert_eq!(claims.sub.as_deref(), Some("alice"), "{alg}");
        assert!(claims.has_scope("notes:read"), "{alg}");
        // And the helper's own tokens, so the raw builders are not the only thing tested.
        let minted = issuer.token().sub("bob").sign();
        assert!(issuer.validator().validate(&minted).await.is_ok(), "{alg}");
    }
    for alg in [
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::ES384,
        Algorithm::PS256,
    ] {
        let issuer = TestIssuer::new(alg);
        assert_accepted(&validator(&issuer), alg.as_str(), &good(&issuer)).await;
    }
}

#[tokio::test]
async fn tokens_signed_here_over_verbatim_bytes_are_accepted_when_canonical() {
    let key = HS.signing_key();
    let input = signing_input(&json_bytes(&header(key)), &json_bytes(&claims()));
    assert_eq!(
        hs_over(&input),
        good(&HS),
        "HMAC is deterministic: the helper signs exactly like the issuer"
    );
    assert_accepted(&validator(&HS), "hs_over", &hs_over(&input)).await;

    let key = ES.signing_key();
    let input = signing_input(&json_bytes(&header(key)), &json_bytes(&claims()));
    assert_accepted(&validator(&ES), "es256_token", &es256_token(key, &input)).await;
}

// ---------------------------------------------------------------------------------------
// alg
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Algorithm confusion
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// kid
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_empty_hostile_or_mistyped_kids_are_refused() {
    let key = HS.signing_key();
    let v = validator(&HS);
    assert_accepted(&v, "real kid", &good(&HS)).await;
    let kid = |kid: Value| with_header(&HS, &set(header(key), "kid", kid));
    let long = "k".repeat(4000);
    let cases = [
        case(
            "unknown kid",
            kid(json!("no-such-key")),
            TokenError::UnknownKey,
        ),
        case("empty kid", kid(json!("")), TokenError::UnknownKey),
        case(
            "path traversal kid",
            kid(json!("../../etc/passwd")),
            TokenError::UnknownKey,
        ),
        case(
            "path traversal to /dev/null",
            kid(json!("../../../../../../dev/null")),
            TokenError::UnknownKey,
        ),
        case(
            "SQL injection kid",
            kid(json!("' OR 1=1 --")),
            TokenError::UnknownKey,
        ),
        case(
            "SQL union kid",
            kid(json!("x' UNION SELECT 'secret")),
            TokenError::UnknownKey,
        ),
        case(
            "shell injection kid",
            kid(json!("$(touch /tmp/pwned)|id;")),
            TokenError::UnknownKey,
        ),
        case(
            "very long kid (4000 chars)",
            kid(json!(long)),
            TokenError::UnknownKey,
        ),
        case(
            "kid with NUL byte",
            kid(json!(format!("{}\u{0}", key.kid()))),
            TokenError::UnknownKey,
        ),
        case(
            "real kid with trailing space",
            kid(json!(format!("{} ", key.kid()))),
            TokenError::UnknownKey,
        ),
        case(
            "real kid upper-cased",
            kid(json!(key.kid().to_uppercase())),
            TokenError::UnknownKey,
        ),
        case("kid null", kid(Value::Null), TokenError::Malformed),
        case("kid number", kid(json!(7)), TokenError::Malformed),
        case("kid array", kid(json!([key.kid()])), TokenError::Malformed),
        case(
            "kid object",
            kid(json!({ "kid": key.kid() })),
            TokenError::Malformed,
        ),
        case("kid boolean", kid(json!(true)), TokenError::Malformed),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn no_kid_is_ambiguous_when_several_keys_share_the_alg() {
    let second_hs = TestIssuer::new(Algorithm::HS256);
    let second_es = TestIssuer::new(Algorithm::ES256);
    let v = Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .clock(|| NOW)
        .keys([
            HS.signing_key().verifying_key(),
            second_hs.signing_key().verifying_key(),
            ES.signing_key().verifying_key(),
            second_es.signing_key().verifying_key(),
            ED.signing_key().verifying_key(),
        ])
        .build()
        .unwrap();
    for issuer in [&*HS, &second_hs, &*ES, &second_es, &*ED] {
        assert_accepted(&v, "with kid", &good(issuer)).await;
    }
    // EdDSA: one key bound to that algorithm, so no kid is still unambiguous.
    let ed = ED.signing_key();
    assert_accepted(
        &v,
        "lone EdDSA key, no kid",
        &sign(ed, &unset(header(ed), "kid"), &claims()),
    )
    .await;

    let no_kid = |issuer: &TestIssuer| {
        let key = issuer.signing_key();
        sign(key, &unset(header(key), "kid"), &claims())
    };
    let cases = [
        case(
            "HS256 without kid, two HS256 keys",
            no_kid(&HS),
            TokenError::UnknownKey,
        ),
        case(
            "other HS256 without kid, two HS256 keys",
            no_kid(&second_hs),
            TokenError::UnknownKey,
        ),
        case(
            "ES256 without kid, two ES256 keys",
            no_kid(&ES),
            TokenError::UnknownKey,
        ),
    ];
    assert_refused(&v, &cases).await;
}

// ---------------------------------------------------------------------------------------
// Keys the token brings itself
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// crit / b64
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// typ
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Time claims
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// RFC 9068 §2.2: the access-token profile's required claims
// ---------------------------------------------------------------------------------------

/// RFC 9068 §2.2 makes `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti` REQUIRED
/// in a JWT access token. With the default policy (`typ: at+jwt`), a token missing any of
/// them is refused naming the claim, whether or not a value is compared for it (no
/// issuer or audience check, no `max_age`), and `TypPolicy::Any` alone changes nothing.
#[tokio::test]
async fn an_access_token_missing_a_claim_rfc9068_requires_is_refused() {
    const REQUIRED: [&str; 7] = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];
    let without = |name: &str| with_claims(&HS, &unset(claims(), name));
    let cases: Vec<Case> = REQUIRED
        .iter()
        .map(|&name| {
            case(
                format!("no {name}"),
                without(name),
                TokenError::MissingClaim(name),
            )
        })
        .collect();
    let default = validator(&HS);
    assert_accepted(&default, "every required claim", &good(&HS)).await;
    assert_refused(&default, &cases).await;

    // Skipping the comparison of a value does not waive its presence.
    let unchecked = HS
        .validator_builder()
        .clock(|| NOW)
        .insecure_skip_iss()
        .insecure_skip_aud()
        .build()
        .unwrap();
    assert_accepted(
        &unchecked,
        "every required claim, nothing compared",
        &good(&HS),
    )
    .await;
    assert_refused(&unchecked, &cases).await;

    // The `typ` policy decides the header only.
    let any_typ = HS
        .validator_builder()
        .clock(|| NOW)
        .typ(TypPolicy::Any)
        .build()
        .unwrap();
    assert_refused(&any_typ, &cases).await;
    let exact_typ = HS
        .validator_builder()
        .clock(|| NOW)
        .typ(TypPolicy::Exact("at+jwt".into()))
        .build()
        .unwrap();
    assert_refused(&exact_typ, &cases).await;
}

/// The plain JWT profile, asked for by name, is the one way to accept tokens without
/// `sub`, `client_id`, `iat` or `jti`; `exp` and the configured `iss` and `aud` stay
/// required.
#[tokio::test]
async fn the_plain_jwt_profile_requires_only_exp_and_what_is_configured() {
    let v = plain_jwt_validator(&HS);
    for name in ["sub", "client_id", "iat", "jti"] {
        assert_accepted(
            &v,
            &format!("no {name}"),
            &with_claims(&HS, &unset(claims(), name)),
        )
        .await;
    }
    let bare = json!({ "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "exp": NOW + 600 });
    assert_accepted(&v, "only iss, aud and exp", &with_claims(&HS, &bare)).await;
    let cases = ["exp", "iss", "aud"].map(|name| {
        case(
            format!("no {name}"),
            with_claims(&HS, &unset(bare.clone(), name)),
            TokenError::MissingClaim(name),
        )
    });
    assert_refused(&v, &cases).await;
}

// ---------------------------------------------------------------------------------------
// Claim types
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// iss / aud
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn issuer_and_audience_must_match_exactly() {
    let t = |name: &str, value: Value| with_claims(&HS, &set(claims(), name, value));
    let cases = [
        case(
            "wrong iss",
            t("iss", json!("https://evil.test")),
            TokenError::WrongIssuer,
        ),
        case(
            "iss with trailing slash",
            t("iss", json!(format!("{TEST_ISSUER}/"))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss in another case",
            t("iss", json!(TEST_ISSUER.to_uppercase())),
            TokenError::WrongIssuer,
        ),
        case(
            "iss with leading space",
            t("iss", json!(format!(" {TEST_ISSUER}"))),
            TokenError::WrongIssuer,
        ),
        case(
            "iss as a prefix",
            t("iss", json!(format!("{TEST_ISSUER}.evil.test"))),
            TokenError::WrongIssuer,
        ),
        case("iss empty", t("iss", json!("")), TokenError::WrongIssuer),
        case(
            "iss missing",
            with_claims(&HS, &unset(claims(), "iss")),
            TokenError::MissingClaim("iss"),
        ),
        case(
            "aud missing",
            with_claims(&HS, &unset(claims(), "aud")),
            TokenError::MissingClaim("aud"),
        ),
        case(
            "aud empty array",
            t("aud", json!([])),
            TokenError::MissingClaim("aud"),
        ),
        case(
            "aud another service",
            t("aud", json!("other-api")),
            TokenError::WrongAudience,
        ),
        case(
            "aud array without a match",
            t("aud", json!(["other-api", "third-api"])),
            TokenError::WrongAudience,
        ),
        case(
            "aud in another case",
            t("aud", json!(TEST_AUDIENCE.to_uppercase())),
            TokenError::WrongAudience,
        ),
        case(
            "aud as a prefix",
            t("aud", json!(format!("{TEST_AUDIENCE}-2"))),
            TokenError::WrongAudience,
        ),
        case(
            "aud empty string",
            t("aud", json!("")),
            TokenError::WrongAudience,
        ),
        case(
            "aud joined into one string",
            t("aud", json!(format!("other-api {TEST_AUDIENCE}"))),
            TokenError::WrongAudience,
        ),
    ];
    let v = validator(&HS);
    assert_refused(&v, &cases).await;
    let claims = assert_accepted(
        &v,
        "aud array with one match",
        &t("aud", json!(["other-api", TEST_AUDIENCE])),
    )
    .await;
    assert!(claims.aud.contains(TEST_AUDIENCE) && claims.aud.contains("other-api"));
    assert_accepted(&v, "aud single string", &t("aud", json!(TEST_AUDIENCE))).await;
}

// ---------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------

/// A correctly signed HS256 token of exactly `len` bytes (padding a claim and the header).
fn hs_token_of_len(len: usize) -> String {
    let key = HS.signing_key();
    for header_pad in 0..4 {
        let h = set(header(key), "x", json!("y".repeat(header_pad)));
        for pad in 0..len {
            let token = sign(key, &h, &set(claims(), "pad", json!("p".repeat(pad))));
            if token.len() == len {
                return token;
            }
            if token.len() > len {
                break;
            }
        }
    }
    panic!("no token of exactly {len} bytes");
}

#[tokio::test]
async fn oversize_tokens_are_refused_before_any_decoding() {
    let v = validator(&HS);
    let at_limit = hs_token_of_len(8 * 1024);
    assert_accepted(&v, "a token of exactly 8 KiB", &at_limit).await;
    let huge_claim = with_claims(&HS, &set(claims(), "pad", json!("p".repeat(7000))));
    let cases = [
        case(
            "a signed token of 8 KiB + 1",
            hs_token_of_len(8 * 1024 + 1),
            TokenError::TooLarge,
        ),
        case(
            "a signed token with a 7000-byte claim",
            huge_claim,
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of non-base64 garbage",
            "!".repeat(9 * 1024),
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of base64 letters",
            "A".repeat(9 * 1024),
            TokenError::TooLarge,
        ),
        case("9 KiB of dots", ".".repeat(9 * 1024), TokenError::TooLarge),
        case(
            "9 KiB five-part JWE lookalike",
            format!("a.b.c.d.{}", "e".repeat(9 * 1024)),
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of multi-byte characters",
            "é".repeat(9 * 512 + 1),
            TokenError::TooLarge,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn a_custom_max_token_len_is_enforced() {
    let token = good(&HS);
    let exact = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(token.len())
        .build()
        .unwrap();
    assert_accepted(&exact, "token at the custom limit", &token).await;
    let tight = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(token.len() - 1)
        .build()
        .unwrap();
    assert_refused(
        &tight,
        &[case(
            "token one byte over the custom limit",
            token.clone(),
            TokenError::TooLarge,
        )],
    )
    .await;
    let roomy = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(64 * 1024)
        .build()
        .unwrap();
    assert_accepted(
        &roomy,
        "a 9 KiB token under a 64 KiB limit",
        &hs_token_of_len(9 * 1024),
    )
    .await;
    assert!(
        HS.validator_builder().max_token_len(63).build().is_err(),
        "limits under 64 bytes are refused"
    );
}

// ---------------------------------------------------------------------------------------
// Duplicate members
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_json_members_in_header_or_payload_are_refused() {
    let key = HS.signing_key();
    let kid = key.kid();
    let good_h = String::from_utf8(json_bytes(&header(key))).expect("UTF-8");
    let good_p = String::from_utf8(json_bytes(&claims())).expect("UTF-8");
    let h = |header: String| sign_bytes(key, header.as_bytes(), good_p.as_bytes());
    let p = |payload: String| sign_bytes(key, good_h.as_bytes(), payload.as_bytes());
    let (iss, aud, exp) = (TEST_ISSUER, TEST_AUDIENCE, NOW + 600);
    let base = format!(
        r#""iss":"{iss}","aud":"{aud}","client_id":"notes-app","jti":"j-1","iat":{NOW},"exp":{exp}"#
    );
    assert_accepted(
        &validator(&HS),
        "hand-written control",
        &p(format!(r#"{{{base},"sub":"alice"}}"#)),
    )
    .await;
    let cases = [
        case(
            "header: alg twice, same value",
            h(format!(
                r#"{{"alg":"HS256","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg none then HS256",
            h(format!(
                r#"{{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg HS256 then none",
            h(format!(
                r#"{{"alg":"HS256","alg":"none","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg and an escaped alg",
            h(format!(
                r#"{{"alg":"HS256","\u0061lg":"none","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: kid twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","kid":"other"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: typ twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: crit twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","crit":[],"crit":[]}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: nested duplicate",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","jwk":{{"kty":"EC","kty":"RSA"}}}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: sub twice",
            p(format!(r#"{{{base},"sub":"alice","sub":"admin"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: exp twice",
            p(format!(r#"{{{base},"exp":99999999999}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: iss twice",
            p(format!(r#"{{{base},"iss":"https://evil.test"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: aud twice",
            p(format!(r#"{{{base},"aud":"other-api"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: sub and an escaped sub",
            p(format!(r#"{{{base},"sub":"alice","s\u0075b":"admin"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: nested object duplicate",
            p(format!(
                r#"{{{base},"ctx":{{"role":"user","role":"admin"}}}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: duplicate deep inside an array",
            p(format!(
                r#"{{{base},"grants":[{{"a":1}},[{{"b":1,"b":2}}]]}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: roles twice",
            p(format!(r#"{{{base},"roles":["user"],"roles":["admin"]}}"#)),
            TokenError::DuplicateMember,
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn non_canonical_base64url_in_any_part_is_refused() {
    // Every case below is correctly signed over its exact (non-canonical) text, so the only
    // thing wrong with it is the encoding. Accepting any of them would make tokens malleable.
    let key = HS.signing_key();
    let kid = key.kid();
    let (iss, aud, exp) = (TEST_ISSUER, TEST_AUDIENCE, NOW + 600);
    // Members that force both '-' and '_' into the base64url text ("???" → "Pz8_", ">>>" → "Pj4-").
    let header_json = unaligned(&format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","q":"??????>>>>>>"}}"#
    ));
    let payload_json = unaligned(&format!(
        r#"{{"iss":"{iss}","aud":"{aud}","client_id":"c","jti":"j","iat":{NOW},"exp":{exp},"sub":"alice","q":"??????>>>>>>"}}"#
    ));
    let h = b64(&header_json);
    let p = b64(&payload_json);
    for part in [&h, &p] {
        assert!(
            part.contains('-') && part.contains('_') && part.len() % 4 != 0,
            "{part}"
        );
    }
    let v = validator(&HS);
    let canonical = hs_over(&format!("{h}.{p}"));
    assert_accepted(&v, "the canonical form of the same token", &canonical).await;
    let s = parts(&canonical).2.to_owned();
    assert_eq!(s.len() % 4, 3, "an HS256 signature has two unused bits");

    // A signature that contains '-' or '_' (retry with a fresh payload until one does).
    let with_url_chars = (0..200)
        .map(|i| {
            hs_over(&format!(
                "{h}.{}",
                b64(unaligned(&format!(
                    r#"{{"iss":"{iss}","aud":"{aud}","sub":"a","client_id":"c","iat":{NOW},"jti":"j","exp":{exp},"n":{i}}}"#
                )))
            ))
        })
        .find(|t| parts(t).2.contains(['-', '_']))
        .expect("some HMAC contains - or _");
    assert_accepted(&v, "signature with - or _", &with_url_chars).await;
    let standard_sig = STANDARD_NO_PAD.encode(signature_bytes(&with_url_chars));
    assert_ne!(standard_sig, parts(&with_url_chars).2);

    let std_alphabet = |part: &str| part.replace('-', "+").replace('_', "/");
    let insert = |part: &str, what: &str| {
        format!(
            "{}{what}{}",
            &part[..part.len() / 2],
            &part[part.len() / 2..]
        )
    };
    let cases = [
        case(
            "header padded with =",
            hs_over(&format!("{}.{p}", padded(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload padded with =",
            hs_over(&format!("{h}.{}", padded(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature padded with =",
            format!("{h}.{p}.{}", padded(&s)),
            TokenError::InvalidSignature,
        ),
        case(
            "header with non-zero trailing bits",
            hs_over(&format!("{}.{p}", set_trailing_bits(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload with non-zero trailing bits",
            hs_over(&format!("{h}.{}", set_trailing_bits(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature with non-zero trailing bits",
            format!("{h}.{p}.{}", set_trailing_bits(&s)),
            TokenError::InvalidSignature,
        ),
        case(
            "header in the standard alphabet",
            hs_over(&format!("{}.{p}", std_alphabet(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload in the standard alphabet",
            hs_over(&format!("{h}.{}", std_alphabet(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature in the standard alphabet",
            with_signature(&with_url_chars, &standard_sig),
            TokenError::InvalidSignature,
        ),
        case(
            "space inside the header",
            hs_over(&format!("{}.{p}", insert(&h, " "))),
            TokenError::Malformed,
        ),
        case(
            "newline inside the header",
            hs_over(&format!("{}.{p}", insert(&h, "\n"))),
            TokenError::Malformed,
        ),
        case(
            "CRLF inside the payload",
            hs_over(&format!("{h}.{}", insert(&p, "\r\n"))),
            TokenError::Malformed,
        ),
        case(
            "tab inside the payload",
            hs_over(&format!("{h}.{}", insert(&p, "\t"))),
            TokenError::Malformed,
        ),
        case(
            "newline inside the signature",
            format!("{h}.{p}.{}", insert(&s, "\n")),
            TokenError::InvalidSignature,
        ),
        case(
            "leading space before the token",
            format!(" {canonical}"),
            TokenError::Malformed,
        ),
        case(
            "trailing newline after the token",
            format!("{canonical}\n"),
            TokenError::InvalidSignature,
        ),
        case(
            "trailing space after the token",
            format!("{canonical} "),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn wrong_part_counts_jwe_and_foreign_bytes_are_refused() {
    let token = good(&HS);
    let (h, p, s) = parts(&token);
    let jwe_header = b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let cases = [
        case("empty string", "", TokenError::Malformed),
        case("one part", "abc", TokenError::Malformed),
        case("one real part", h, TokenError::Malformed),
        case("two parts", format!("{h}.{p}"), TokenError::Malformed),
        case("four parts", format!("{token}.{s}"), TokenError::Malformed),
        case(
            "six parts",
            format!("{token}.{s}.{s}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "seven parts",
            format!("{token}.{s}.{s}.{s}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "five parts: a JWE",
            format!("{jwe_header}.ZW5jcnlwdGVkX2tleQ.aXY.Y2lwaGVydGV4dA.dGFn"),
            TokenError::Encrypted,
        ),
        case(
            "five parts: our token plus two",
            format!("{token}.{s}.{s}"),
            TokenError::Encrypted,
        ),
        case("a lone dot", ".", TokenError::Malformed),
        case("two dots", "..", TokenError::Malformed),
        case("three dots", "...", TokenError::Malformed),
        case("empty header", format!(".{p}.{s}"), TokenError::Malformed),
        case("empty payload", format!("{h}..{s}"), TokenError::Malformed),
        case(
            "non-ASCII in the header",
            format!("é{h}.{p}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "non-ASCII in the payload",
            hs_over(&format!("{h}.{p}ü")),
            TokenError::Malformed,
        ),
        case(
            "non-ASCII in the signature",
            format!("{h}.{p}.{s}ß"),
            TokenError::InvalidSignature,
        ),
        case(
            "full-width dots as separators",
            format!("{h}\u{ff0e}{p}\u{ff0e}{s}"),
            TokenError::Malformed,
        ),
        case(
            "NUL byte in the header",
            format!("{h}\u{0}.{p}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "Bearer prefix left on",
            format!("Bearer {token}"),
            TokenError::Malformed,
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn a_header_or_payload_that_is_not_one_json_object_is_malformed() {
    let key = HS.signing_key();
    let kid = key.kid();
    let good_h = String::from_utf8(json_bytes(&header(key))).expect("UTF-8");
    let good_p = String::from_utf8(json_bytes(&claims())).expect("UTF-8");
    let h = |header: &[u8]| sign_bytes(key, header, good_p.as_bytes());
    let p = |payload: &[u8]| sign_bytes(key, good_h.as_bytes(), payload);
    let bom_h = [b"\xEF\xBB\xBF".as_slice(), good_h.as_bytes()].concat();
    let bom_p = [b"\xEF\xBB\xBF".as_slice(), good_p.as_bytes()].concat();
    let raw_control = good_p.replacen("alice", "al\u{0}ce", 1).into_bytes();
    let mut invalid_utf8 = good_p.clone().into_bytes();
    let at = good_p.find("alice").expect("sub is there");
    invalid_utf8[at] = 0xff;
    let deep_header = format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","x":{}{}}}"#,
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let deep_payload = good_p.replacen(
        "{",
        &format!(r#"{{"x":{}1{},"#, r#"{"a":"#.repeat(700), "}".repeat(700)),
        1,
    );
    let v = validator(&HS);
    assert_accepted(
        &v,
        "trailing JSON whitespace is still JSON",
        &p(format!("{good_p} \r\n").as_bytes()),
    )
    .await;
    assert_accepted(
        &v,
        "an escaped NUL inside a string is JSON",
        &p(good_p.replacen("alice", r"al\u0000ce", 1).as_bytes()),
    )
    .await;
    let cases = [
        case("header not JSON", h(b"not json"), TokenError::Malformed),
        case(
            "header JSON array",
            h(br#"["alg","HS256"]"#),
            TokenError::Malformed,
        ),
        case(
            "header JSON string",
            h(br#""HS256""#),
            TokenError::Malformed,
        ),
        case("header JSON null", h(b"null"), TokenError::Malformed),
        case(
            "header empty object",
            h(b"{}"),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "header with trailing garbage",
            h(format!("{good_h}x").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header followed by a second object",
            h(format!(r#"{good_h}{{"alg":"none"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header truncated",
            h(&good_h.as_bytes()[..good_h.len() - 1]),
            TokenError::Malformed,
        ),
        case("header with a BOM", h(&bom_h), TokenError::Malformed),
        case(
            "header with a comment",
            h(format!(r#"{{"alg":"HS256", /* hi */ "typ":"at+jwt","kid":"{kid}"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header with single quotes",
            h(format!("{{'alg':'HS256','typ':'at+jwt','kid':'{kid}'}}").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header with a trailing comma",
            h(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}",}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case("payload not JSON", p(b"sub=alice"), TokenError::Malformed),
        case(
            "payload with trailing garbage",
            p(format!("{good_p}garbage").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload followed by a second object",
            p(format!(r#"{good_p}{{"sub":"admin"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload truncated",
            p(&good_p.as_bytes()[..good_p.len() - 1]),
            TokenError::Malformed,
        ),
        case("payload with a BOM", p(&bom_p), TokenError::Malformed),
        case(
            "payload with invalid UTF-8",
            p(&invalid_utf8),
            TokenError::Malformed,
        ),
        case(
            "payload with a raw control character in a string",
            p(&raw_control),
            TokenError::Malformed,
        ),
        case(
            "payload with a lone surrogate escape",
            p(good_p.replacen("alice", r"\ud800", 1).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload with NaN",
            p(good_p
                .replacen(&format!("{}", NOW + 600), "NaN", 1)
                .as_bytes()),
            TokenError::Malformed,
        ),
        case("payload empty", p(b""), TokenError::Malformed),
        // Far past serde_json's recursion limit: refused, and no stack overflow.
        case(
            "header nested 2000 arrays deep",
            h(deep_header.as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload nested 700 objects deep",
            p(deep_payload.as_bytes()),
            TokenError::Malformed,
        ),
    ];
    assert_refused(&v, &cases).await;
}
