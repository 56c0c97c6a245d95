//! Every algorithm: a token minted by the `testing` helpers validates, and the JWKS it
//! publishes feeds a validator that accepts it too.
#![allow(clippy::unwrap_used)]

use rampart::testing::TestIssuer;
use rampart::{Algorithm, KeySet, Validator};

#[tokio::test]
async fn every_algorithm_round_trips_through_sign_and_validate() {
    for alg in Algorithm::ALL {
        let issuer = TestIssuer::new(alg);
        let token = issuer
            .token()
            .sub("alice")
            .scope("a b")
            .roles(&["admin"])
            .sign();
        let claims = issuer
            .validator()
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.sub.as_deref(), Some("alice"), "{alg}");
        assert!(claims.has_scope("b") && claims.has_role("admin"), "{alg}");
    }
}

#[tokio::test]
async fn a_published_jwks_validates_the_tokens_of_its_key() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::PS384,
    ] {
        let issuer = TestIssuer::new(alg);
        let jwks = serde_json::to_vec(&issuer.jwks()).unwrap();
        assert_eq!(KeySet::from_jwks(&jwks).unwrap().len(), 1, "{alg}");
        let validator = Validator::builder()
            .issuer(issuer.issuer())
            .audience(issuer.audience())
            .jwks_document(&jwks)
            .build()
            .unwrap();
        let token = issuer.token().sign();
        validator
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn rsa_public_keys_load_from_spki_and_pkcs1_pem() {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::KeyPair as _;
    let issuer = TestIssuer::new(Algorithm::RS256);
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(issuer.signing_key().secret_bytes()).unwrap();
    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
    // SPKI = SEQ { AlgorithmIdentifier(rsaEncryption, 15 bytes), BIT STRING { 0x00, RSAPublicKey } }
    // for a 2048-bit key: 4-byte outer header, 15-byte algorithm, 5-byte bit string header.
    let pkcs1 = spki[4 + 15 + 5..].to_vec();
    assert_eq!(&pkcs1[..2], &[0x30, 0x82], "an RSAPublicKey SEQUENCE");
    let token = issuer.token().sign();
    for (label, der) in [("PUBLIC KEY", &spki), ("RSA PUBLIC KEY", &pkcs1)] {
        let validator = Validator::builder()
            .issuer(issuer.issuer())
            .audience(issuer.audience())
            .pem(Algorithm::RS256, pem(label, der).as_bytes())
            .build()
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        validator
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
    // The same key bound to another algorithm family is refused at build time.
    assert!(
        Validator::builder()
            .issuer("i")
            .audience("a")
            .pem(Algorithm::ES256, pem("PUBLIC KEY", &spki).as_bytes())
            .build()
            .is_err()
    );
}
