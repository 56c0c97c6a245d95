//! Signing keys (feature `signing`): generate, serialize, publish as JWKS, sign tokens.
//!
//! The token server and the `testing` helpers share this, so a token minted in a test is
//! made exactly as the server makes it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use serde::Serialize;
use serde_json::{Value, json};

use crate::token::{Algorithm, KeyFamily, VerifyingKey};

/// Why a signing key could not be made or used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// Key generation failed in the crypto library.
    #[error("key generation failed")]
    Generate,
    /// The stored key bytes do not form a key for the algorithm.
    #[error("invalid private key for {0}")]
    InvalidKey(Algorithm),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private signing key bound to one algorithm, with its `kid`.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    /// PKCS#8 DER for asymmetric keys, the raw secret for HMAC.
    secret: Vec<u8>,
    encoding: EncodingKey,
    public_jwk: Option<Value>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key: P-256/P-384, Ed25519, RSA-2048 or a random HMAC secret of
    /// the hash size. The `kid` is the RFC 7638 thumbprint (random for HMAC).
    pub fn generate(alg: Algorithm) -> Result<Self, SigningError> {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
        };
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let secret = match alg {
            Algorithm::ES256 => aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            )
            .map_err(|_| SigningError::Generate)?
            .as_ref()
            .to_vec(),
            Algorithm::ES384 => aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P384_SHA384_FIXED_SIGNING,
                &rng,
            )
            .map_err(|_| SigningError::Generate)?
            .as_ref()
            .to_vec(),
            Algorithm::EdDSA => aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| SigningError::Generate)?
                .as_ref()
                .to_vec(),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let len = match alg {
                    Algorithm::HS256 => 32,
                    Algorithm::HS384 => 48,
                    _ => 64,
                };
                let mut secret = vec![0u8; len];
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| SigningError::Generate)?;
                secret
            }
            _ => {
                use aws_lc_rs::encoding::AsDer as _;
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| SigningError::Generate)?;
                pair.as_der()
                    .map_err(|_| SigningError::Generate)?
                    .as_ref()
                    .to_vec()
            }
        };
        Self::from_secret(alg, secret, None)
    }

    /// Rebuilds a key from [`SigningKey::secret_bytes`] (PKCS#8 DER, or the HMAC secret).
    /// `kid` defaults to the RFC 7638 thumbprint.
    pub fn from_secret(
        alg: Algorithm,
        secret: Vec<u8>,
        kid: Option<String>,
    ) -> Result<Self, SigningError> {
        let bad = |_: aws_lc_rs::error::KeyRejected| SigningError::InvalidKey(alg);
        let bad_jwt = |_: jsonwebtoken::errors::Error| SigningError::InvalidKey(alg);
        let (encoding, public_jwk) = match alg.family() {
            KeyFamily::Hmac => (EncodingKey::from_secret(&secret).map_err(bad_jwt)?, None),
            KeyFamily::Ec => {
                let signing_alg = if alg == Algorithm::ES256 {
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(signing_alg, &secret)
                    .map_err(bad)?;
                use aws_lc_rs::signature::KeyPair as _;
                let point = pair.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                let crv = if alg == Algorithm::ES256 {
                    "P-256"
                } else {
                    "P-384"
                };
                let jwk = json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..=size]),
                    "y": URL_SAFE_NO_PAD.encode(&point[size + 1..]),
                });
                (EncodingKey::from_ec_der(&secret), Some(jwk))
            }
            KeyFamily::Okp => {
                use aws_lc_rs::signature::KeyPair as _;
                let pair =
                    aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&secret).map_err(bad)?;
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (EncodingKey::from_ed_der(&secret), Some(jwk))
            }
            KeyFamily::Rsa => {
                use aws_lc_rs::signature::KeyPair as _;
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&secret).map_err(bad)?;
                let parts = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(
                    pair.public_key(),
                );
                let jwk = json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&parts.n),
                    "e": URL_SAFE_NO_PAD.encode(&parts.e),
                });
                // jsonwebtoken's RSA signer wants PKCS#1; its PEM reader unwraps PKCS#8.
                let pem = to_pem("PRIVATE KEY", &secret);
                (
                    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(bad_jwt)?,
                    Some(jwk),
                )
            }
        };
        let kid = match (kid, &public_jwk) {
            (Some(kid), _) => kid,
            (None, Some(jwk)) => thumbprint(jwk),
            (None, None) => {
                let mut id = [0u8; 16];
                aws_lc_rs::rand::fill(&mut id).map_err(|_| SigningError::Generate)?;
                URL_SAFE_NO_PAD.encode(id)
            }
        };
        Ok(Self {
            alg,
            kid,
            secret,
            encoding,
            public_jwk,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id written into every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key bytes (PKCS#8 DER, or the HMAC secret). Handle as a secret:
    /// encrypt before storing, never log.
    pub fn secret_bytes(&self) -> &[u8] {
        &self.secret
    }

    /// The public key as a JWK with `kid`, `alg` and `use: sig`; `None` for HMAC keys.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = self.public_jwk.clone()?;
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".into(), Value::String(self.kid.clone()));
            map.insert("alg".into(), Value::String(self.alg.as_str().into()));
            map.insert("use".into(), Value::String("sig".into()));
        }
        Some(jwk)
    }

    /// The matching verification key (with `kid`).
    pub fn verifying_key(&self) -> VerifyingKey {
        let key = match &self.public_jwk() {
            Some(jwk) => VerifyingKey::from_jwk(jwk),
            None => VerifyingKey::hmac(self.alg, &self.secret),
        };
        key.expect("a generated or loaded key always yields its own verifying key")
            .with_kid(self.kid.clone())
    }

    /// Signs `claims` as a compact JWS with header `{alg, typ, kid}`.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, SigningError> {
        let mut header = jsonwebtoken::Header::new(self.alg.to_jwt());
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| SigningError::Sign(e.to_string()))
    }

    /// Signs arbitrary header and payload bytes (base64url-encoded here) as a compact JWS.
    /// No check of either: this is for building hostile test tokens, not for issuing.
    pub fn sign_raw(&self, header_json: &[u8], payload: &[u8]) -> Result<String, SigningError> {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding, self.alg.to_jwt())
                .map_err(|e| SigningError::Sign(e.to_string()))?;
        Ok(format!("{signing_input}.{signature}"))
    }
}

/// A JWKS document (RFC 7517 §5) publishing the public half of `keys` (HMAC keys are
/// never published).
pub fn jwks_document<'k>(keys: impl IntoIterator<Item = &'k SigningKey>) -> Value {
    json!({ "keys": keys.into_iter().filter_map(SigningKey::public_jwk).collect::<Vec<_>>() })
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &["e", "kty", "n"],
    };
    // Built by hand: serde_json's map order depends on a feature another crate may enable.
    let canonical = members
        .iter()
        .map(|m| format!("\"{m}\":{}", jwk[*m]))
        .collect::<Vec<_>>()
        .join(",");
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{{{canonical}}}").as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}
