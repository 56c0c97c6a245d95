//! Verification keys, each bound to exactly one algorithm, and the key set a validator
//! searches by `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::jose::present;
use super::{Algorithm, KeyFamily, TokenError};

/// Shortest accepted HMAC secret for HS256. RFC 7518 §3.2: a key at least as long as the
/// hash output MUST be used, so HS384 needs 48 bytes and HS512 64.
pub const MIN_HMAC_SECRET_LEN: usize = 32;
/// Smallest accepted RSA modulus, in bits (RFC 7518 §3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key could not be loaded. Reported when the validator is built, never per request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// HMAC secret shorter than the hash output (RFC 7518 §3.2): 32 bytes for HS256,
    /// 48 for HS384, 64 for HS512.
    #[error("this HMAC secret has {got} bytes; {alg} needs at least {need} (RFC 7518 §3.2)")]
    SecretTooShort {
        /// The algorithm.
        alg: Algorithm,
        /// Bytes required.
        need: usize,
        /// Bytes given.
        got: usize,
    },
    /// RSA modulus shorter than [`MIN_RSA_BITS`].
    #[error("RSA keys must have at least {MIN_RSA_BITS} bits; this one has {0}")]
    RsaTooSmall(usize),
    /// The key material is not of the family the algorithm needs.
    #[error("the key does not fit algorithm {0}")]
    WrongFamily(Algorithm),
    /// The PEM/JWK could not be read.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// Two keys in one set share a `kid`.
    #[error("two keys share the kid {0:?}")]
    DuplicateKid(String),
    /// The JWKS document is not `{"keys":[...]}`.
    #[error("invalid JWKS document: {0}")]
    InvalidJwks(String),
    /// A key set must hold at least one key.
    #[error("the key set has no usable key")]
    Empty,
}

/// A public key (or HMAC secret) bound to one [`Algorithm`], with an optional `kid`.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<Arc<str>>,
    alg: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material (an HMAC secret lives here).
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// An HMAC secret for `alg` (HS256/384/512). Refuses secrets under 32 bytes.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        if alg.family() != KeyFamily::Hmac {
            return Err(KeyError::WrongFamily(alg));
        }
        let need = match alg {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => MIN_HMAC_SECRET_LEN,
        };
        if secret.len() < need {
            return Err(KeyError::SecretTooShort {
                alg,
                need,
                got: secret.len(),
            });
        }
        let key = DecodingKey::from_secret(secret).map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(Self {
            kid: None,
            alg,
            key,
        })
    }

    /// A PEM public key: RSA (`PUBLIC KEY` SPKI or `RSA PUBLIC KEY` PKCS#1), EC or
    /// Ed25519 (SPKI). The key must fit `alg`.
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, KeyError> {
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::Invalid(e.to_string());
        let key = match alg.family() {
            KeyFamily::Hmac => return Err(KeyError::WrongFamily(alg)),
            KeyFamily::Rsa => DecodingKey::from_rsa_pem(pem).map_err(invalid)?,
            KeyFamily::Ec => DecodingKey::from_ec_pem(pem).map_err(invalid)?,
            KeyFamily::Okp => DecodingKey::from_ed_pem(pem).map_err(invalid)?,
        };
        let der = key.try_get_as_bytes().map_err(invalid)?;
        match alg.family() {
            KeyFamily::Rsa => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(der)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                let parts = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(&public);
                check_rsa_modulus(&parts.n)?;
            }
            KeyFamily::Ec => check_ec_point(alg, der)?,
            KeyFamily::Okp if der.len() != 32 => return Err(KeyError::WrongFamily(alg)),
            _ => {}
        }
        Ok(Self {
            kid: None,
            alg,
            key,
        })
    }

    /// One JWK (RFC 7517 §4). The algorithm comes from its `alg` member; without one it is
    /// inferred where only one makes sense (`crv` P-256 → ES256, P-384 → ES384,
    /// Ed25519 → EdDSA) and RSA keys default to RS256 (the only RSA algorithm RFC 7518
    /// recommends for JWS). `oct` keys (shared secrets) are refused: secrets do not belong
    /// in a key set fetched over the network; use [`VerifyingKey::hmac`].
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, KeyError> {
        let jwk = Jwk::deserialize(jwk).map_err(|e| KeyError::Invalid(e.to_string()))?;
        jwk.into_key()
    }

    /// Sets the key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(Arc::from(kid.into()));
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Verifies a JWS signature over `signing_input`. The algorithm must already match.
    pub(crate) fn verify(
        &self,
        signing_input: &str,
        signature_b64: &str,
    ) -> Result<(), TokenError> {
        match jsonwebtoken::crypto::verify(
            signature_b64,
            signing_input.as_bytes(),
            &self.key,
            self.alg.to_jwt(),
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(TokenError::InvalidSignature),
            // Bad base64 in the signature, or a signature of the wrong size.
            Err(_) => Err(TokenError::InvalidSignature),
        }
    }
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| KeyError::Invalid(format!("`{field}` is not base64url")))
}

fn check_rsa_modulus(n: &[u8]) -> Result<(), KeyError> {
    let n = &n[n.iter().take_while(|&&b| b == 0).count()..];
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::RsaTooSmall(bits));
    }
    Ok(())
}

fn check_ec_point(alg: Algorithm, point: &[u8]) -> Result<(), KeyError> {
    let want = match alg {
        Algorithm::ES256 => 65,
        Algorithm::ES384 => 97,
        _ => return Err(KeyError::WrongFamily(alg)),
    };
    if point.len() != want || point[0] != 0x04 {
        return Err(KeyError::WrongFamily(alg));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default, deserialize_with = "present")]
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    alg: Option<String>,
    #[serde(default, rename = "use", deserialize_with = "present")]
    use_: Option<String>,
    #[serde(default, deserialize_with = "present")]
    key_ops: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    crv: Option<String>,
    #[serde(default, deserialize_with = "present")]
    x: Option<String>,
    #[serde(default, deserialize_with = "present")]
    y: Option<String>,
    #[serde(default, deserialize_with = "present")]
    n: Option<String>,
    #[serde(default, deserialize_with = "present")]
    e: Option<String>,
    #[serde(default, deserialize_with = "present")]
    d: Option<serde::de::IgnoredAny>,
}

impl Jwk {
    fn into_key(self) -> Result<VerifyingKey, KeyError> {
        // RFC 7517 §4.2/§4.3: a key published for encryption, or not for verifying, is not ours.
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::Invalid("the key's `use` is not `sig`".into()));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Err(KeyError::Invalid(
                "the key's `key_ops` lack `verify`".into(),
            ));
        }
        if self.d.is_some() {
            return Err(KeyError::Invalid(
                "a private key was published; refusing it".into(),
            ));
        }
        let need = |field: &'static str, v: &Option<String>| -> Result<Vec<u8>, KeyError> {
            b64(
                field,
                v.as_deref()
                    .ok_or_else(|| KeyError::Invalid(format!("missing `{field}`")))?,
            )
        };
        let named = match self.alg.as_deref() {
            Some(name) => Some(
                Algorithm::from_name(name)
                    .ok_or_else(|| KeyError::Invalid(format!("unsupported alg {name:?}")))?,
            ),
            None => None,
        };
        let (alg, key) = match self.kty.as_str() {
            "RSA" => {
                let (n, e) = (need("n", &self.n)?, need("e", &self.e)?);
                check_rsa_modulus(&n)?;
                let alg = named.unwrap_or(Algorithm::RS256);
                (alg, DecodingKey::from_rsa_raw_components(&n, &e))
            }
            "EC" => {
                let (size, inferred) = match self.crv.as_deref() {
                    Some("P-256") => (32, Algorithm::ES256),
                    Some("P-384") => (48, Algorithm::ES384),
                    other => {
                        return Err(KeyError::Invalid(format!("unsupported EC curve {other:?}")));
                    }
                };
                let (x, y) = (need("x", &self.x)?, need("y", &self.y)?);
                if x.len() != size || y.len() != size {
                    return Err(KeyError::Invalid(
                        "EC coordinates have the wrong length".into(),
                    ));
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (named.unwrap_or(inferred), DecodingKey::from_ec_der(&point))
            }
            "OKP" => {
                if self.crv.as_deref() != Some("Ed25519") {
                    return Err(KeyError::Invalid(format!(
                        "unsupported OKP curve {:?}",
                        self.crv
                    )));
                }
                let x = need("x", &self.x)?;
                if x.len() != 32 {
                    return Err(KeyError::Invalid("Ed25519 key has the wrong length".into()));
                }
                (
                    named.unwrap_or(Algorithm::EdDSA),
                    DecodingKey::from_ed_der(&x),
                )
            }
            "oct" => {
                return Err(KeyError::Invalid(
                    "`oct` keys are not accepted from a JWKS".into(),
                ));
            }
            other => return Err(KeyError::Invalid(format!("unsupported kty {other:?}"))),
        };
        let family_ok = match self.kty.as_str() {
            "RSA" => alg.family() == KeyFamily::Rsa,
            "EC" => alg.family() == KeyFamily::Ec && Some(alg) == ec_alg_for(self.crv.as_deref()),
            _ => alg == Algorithm::EdDSA,
        };
        if !family_ok {
            return Err(KeyError::WrongFamily(alg));
        }
        Ok(VerifyingKey {
            kid: self.kid.map(Arc::from),
            alg,
            key,
        })
    }
}

fn ec_alg_for(crv: Option<&str>) -> Option<Algorithm> {
    match crv {
        Some("P-256") => Some(Algorithm::ES256),
        Some("P-384") => Some(Algorithm::ES384),
        _ => None,
    }
}

/// An immutable set of verification keys, searched by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<Arc<str>, VerifyingKey>,
    all: Vec<VerifyingKey>,
}

impl KeySet {
    /// A set of keys. Two keys with the same `kid` are an error.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, KeyError> {
        let mut set = Self::default();
        for key in keys {
            if let Some(kid) = &key.kid
                && set.by_kid.insert(kid.clone(), key.clone()).is_some()
            {
                return Err(KeyError::DuplicateKid(kid.to_string()));
            }
            set.all.push(key);
        }
        Ok(set)
    }

    /// Reads a JWKS document (RFC 7517 §5). Keys this crate cannot use (other `kty`,
    /// `use: enc`, unsupported curves, short RSA) are skipped with a warning, as
    /// RFC 7517 §5 asks; a document that is not a key set at all is an error. Keys sharing
    /// a `kid` are all dropped (which of them is meant cannot be known).
    pub fn from_jwks(json: &[u8]) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc =
            serde_json::from_slice(json).map_err(|e| KeyError::InvalidJwks(e.to_string()))?;
        let mut keys = Vec::with_capacity(doc.keys.len());
        for (i, jwk) in doc.keys.iter().enumerate() {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(err) => {
                    tracing::warn!(index = i, %err, "skipping a JWKS key this validator cannot use");
                }
            }
        }
        let mut counts: HashMap<Arc<str>, usize> = HashMap::new();
        for kid in keys.iter().filter_map(|k| k.kid.clone()) {
            *counts.entry(kid).or_default() += 1;
        }
        keys.retain(|k| {
            let dup = k
                .kid
                .as_ref()
                .is_some_and(|kid| counts.get(kid).copied().unwrap_or(0) > 1);
            if dup {
                tracing::warn!(
                    kid = k.kid.as_deref(),
                    "skipping JWKS keys that share a kid"
                );
            }
            !dup
        });
        Self::new(keys)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// True when the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.all.iter()
    }

    /// True when `next` lacks a key this set has (so tokens verified with this set may
    /// no longer verify).
    pub fn is_superseded_by(&self, next: &KeySet) -> bool {
        let unkeyed = |s: &KeySet| s.all.iter().filter(|k| k.kid.is_none()).count();
        self.by_kid.keys().any(|kid| !next.by_kid.contains_key(kid))
            || unkeyed(next) < unkeyed(self)
    }

    /// True when a key with this `kid` is present.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The key a token with header `kid`/`alg` must verify against.
    ///
    /// With a `kid`: exactly that key (or, if no key has that kid, the one key configured
    /// without a kid), and its algorithm must equal `alg` (checked before any
    /// cryptography, which closes HS/RS confusion). Without a `kid`: the only key of
    /// the set, or else the only key bound to `alg`; anything else is ambiguous.
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<&VerifyingKey, TokenError> {
        let key = match kid {
            Some(kid) => match self.by_kid.get(kid) {
                Some(key) => key,
                // A key configured without a kid (a shared secret, a bare PEM) still
                // verifies tokens that name some kid, when it is the only kid-less key:
                // the kid cannot then select anything else.
                None => {
                    let mut unkeyed = self.all.iter().filter(|k| k.kid.is_none());
                    match (unkeyed.next(), unkeyed.next()) {
                        (Some(one), None) => one,
                        _ => return Err(TokenError::UnknownKey),
                    }
                }
            },
            None => match self.all.as_slice() {
                [only] => only,
                many => {
                    let mut fitting = many.iter().filter(|k| k.alg == alg);
                    match (fitting.next(), fitting.next()) {
                        (Some(one), None) => one,
                        _ => return Err(TokenError::UnknownKey),
                    }
                }
            },
        };
        if key.alg != alg {
            return Err(TokenError::AlgorithmMismatch);
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_secrets_must_be_at_least_the_hash_size() {
        let cases = [
            (Algorithm::HS256, 31, false),
            (Algorithm::HS256, 32, true),
            (Algorithm::HS384, 47, false),
            (Algorithm::HS384, 48, true),
            (Algorithm::HS512, 63, false),
            (Algorithm::HS512, 64, true),
        ];
        for (alg, len, ok) in cases {
            assert_eq!(
                VerifyingKey::hmac(alg, &vec![7; len]).is_ok(),
                ok,
                "{alg} with {len} bytes"
            );
        }
        assert_eq!(
            VerifyingKey::hmac(Algorithm::ES256, &[7; 64]).unwrap_err(),
            KeyError::WrongFamily(Algorithm::ES256)
        );
    }
}
