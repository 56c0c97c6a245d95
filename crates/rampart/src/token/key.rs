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
    /// SHA-256 over the key material in one canonical form per family (RSA `n` and `e`,
    /// the EC point, the Ed25519 `x`, the HMAC secret), so that a key republished under the
    /// same `kid` with other bytes is told apart from an unchanged one. `DecodingKey` has
    /// no equality, and keeping a second copy of an HMAC secret just to compare it is
    /// worse than keeping its digest.
    material: [u8; 32],
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
            material: fingerprint(KeyFamily::Hmac, &[secret]),
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
        // The same canonical material as `from_jwk`, so a key loaded from PEM and from its
        // JWK compare equal.
        let material = match alg.family() {
            KeyFamily::Rsa => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(der)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                let parts = aws_lc_rs::signature::RsaPublicKeyComponents::<Vec<u8>>::from(&public);
                check_rsa_modulus(&parts.n)?;
                rsa_fingerprint(&parts.n, &parts.e)
            }
            KeyFamily::Ec => {
                check_ec_point(alg, der)?;
                fingerprint(KeyFamily::Ec, &[der])
            }
            KeyFamily::Okp if der.len() != 32 => return Err(KeyError::WrongFamily(alg)),
            family => fingerprint(family, &[der]),
        };
        Ok(Self {
            kid: None,
            alg,
            key,
            material,
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

    /// True when both keys verify exactly the same signatures: same algorithm, same key
    /// material (the `kid` is not compared).
    pub(crate) fn same_key_as(&self, other: &VerifyingKey) -> bool {
        self.alg == other.alg && self.material == other.material
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

/// SHA-256 over the family tag and each part, length-prefixed so that no two different
/// part lists hash the same input.
fn fingerprint(family: KeyFamily, parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let tag: u8 = match family {
        KeyFamily::Hmac => 1,
        KeyFamily::Rsa => 2,
        KeyFamily::Ec => 3,
        KeyFamily::Okp => 4,
    };
    ctx.update(&[tag]);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// RSA keys are compared by modulus and exponent without leading zero bytes (a JWK may
/// carry them, a DER integer may carry one for the sign).
fn rsa_fingerprint(n: &[u8], e: &[u8]) -> [u8; 32] {
    let strip = |b: &[u8]| -> usize { b.iter().take_while(|&&x| x == 0).count() };
    fingerprint(KeyFamily::Rsa, &[&n[strip(n)..], &e[strip(e)..]])
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
        let (alg, key, material) = match self.kty.as_str() {
            "RSA" => {
                let (n, e) = (need("n", &self.n)?, need("e", &self.e)?);
                check_rsa_modulus(&n)?;
                let alg = named.unwrap_or(Algorithm::RS256);
                (
                    alg,
                    DecodingKey::from_rsa_raw_components(&n, &e),
                    rsa_fingerprint(&n, &e),
                )
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
                (
                    named.unwrap_or(inferred),
                    DecodingKey::from_ec_der(&point),
                    fingerprint(KeyFamily::Ec, &[&point]),
                )
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
                    fingerprint(KeyFamily::Okp, &[&x]),
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
            material,
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

    /// True when some token this set verifies might not verify, or would verify against
    /// other key material, under `next`: a key removed, a `kid` republished with other
    /// bytes, a swapped HMAC secret, or a key added that changes which key a token selects
    /// (a second key of the same algorithm makes a token without `kid` ambiguous; a new
    /// `kid` takes tokens naming it away from a kid-less fallback key). Adding a key that
    /// changes no selection (say an ES384 key next to one ES256 key) supersedes nothing.
    ///
    /// The verified-token cache is flushed when this is true, so it decides whether a cached
    /// verdict can outlive a key change. Pure: it follows `KeySet::select` path by path.
    pub fn is_superseded_by(&self, next: &KeySet) -> bool {
        // Each selection path a token can take through `self`, replayed on `next`.
        let kept = |now: Result<&VerifyingKey, TokenError>,
                    then: Result<&VerifyingKey, TokenError>| match (now, then) {
            // Nothing this path refuses was ever cached.
            (Err(_), _) => true,
            (Ok(now), Ok(then)) => now.same_key_as(then),
            (Ok(_), Err(_)) => false,
        };
        // Tokens naming a kid this set has.
        let named = self.by_kid.values().all(|key| {
            kept(
                self.select(key.kid(), key.alg),
                next.select(key.kid(), key.alg),
            )
        });
        // Tokens naming a kid this set does not have, verified by its only kid-less key: any
        // kid `next` adds now selects that kid's key, and every other one `next`'s fallback.
        let unknown = match self.fallback() {
            None => true,
            Some(key) => {
                next.by_kid
                    .keys()
                    .filter(|kid| !self.by_kid.contains_key(*kid))
                    .all(|kid| kept(Ok(key), next.select(Some(kid), key.alg)))
                    && kept(Ok(key), next.fallback().ok_or(TokenError::UnknownKey))
            }
        };
        // Tokens without a kid, for each algorithm this set has a key for.
        let unnamed = self
            .all
            .iter()
            .all(|key| kept(self.select(None, key.alg), next.select(None, key.alg)));
        !(named && unknown && unnamed)
    }

    /// The key that verifies tokens naming a `kid` no key has: the only key without one.
    fn fallback(&self) -> Option<&VerifyingKey> {
        let mut unkeyed = self.all.iter().filter(|k| k.kid.is_none());
        match (unkeyed.next(), unkeyed.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
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
                None => self.fallback().ok_or(TokenError::UnknownKey)?,
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

    fn hs(alg: Algorithm, secret: u8, kid: Option<&str>) -> VerifyingKey {
        let key = VerifyingKey::hmac(alg, &[secret; 64]).expect("a 64-byte secret fits");
        match kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        }
    }

    fn set(keys: &[VerifyingKey]) -> KeySet {
        KeySet::new(keys.iter().cloned()).expect("distinct kids")
    }

    /// Whether a cached verdict may outlive a key-set change: true means "flush".
    #[test]
    fn a_key_set_is_superseded_when_any_token_it_verifies_could_verify_differently() {
        use Algorithm::{HS256, HS384};
        let a = || hs(HS256, 1, Some("a"));
        let b = || hs(HS384, 2, Some("b"));
        let unkeyed = || hs(HS256, 3, None);
        let cases: &[(&str, KeySet, KeySet, bool)] = &[
            ("the same keys", set(&[a()]), set(&[a()]), false),
            (
                "the same keys, reordered",
                set(&[a(), b()]),
                set(&[b(), a()]),
                false,
            ),
            ("a key removed", set(&[a(), b()]), set(&[a()]), true),
            ("the last key removed", set(&[a()]), set(&[]), true),
            ("a first key added", set(&[]), set(&[a()]), false),
            (
                "a kid republished with other bytes",
                set(&[a()]),
                set(&[hs(HS256, 9, Some("a"))]),
                true,
            ),
            (
                "a kid republished for another algorithm",
                set(&[a()]),
                set(&[hs(HS384, 1, Some("a"))]),
                true,
            ),
            (
                "a kid-less HMAC secret swapped",
                set(&[unkeyed()]),
                set(&[hs(HS256, 4, None)]),
                true,
            ),
            (
                "a key of another algorithm added",
                set(&[a()]),
                set(&[a(), b()]),
                false,
            ),
            (
                "a second key of the same algorithm added (tokens without kid become ambiguous)",
                set(&[a()]),
                set(&[a(), hs(HS256, 5, Some("c"))]),
                true,
            ),
            (
                "a kid added next to a kid-less fallback key (tokens naming it move over)",
                set(&[unkeyed()]),
                set(&[unkeyed(), b()]),
                true,
            ),
            (
                "a second kid-less key added (the fallback becomes ambiguous)",
                set(&[unkeyed(), b()]),
                set(&[unkeyed(), hs(HS384, 6, None), b()]),
                true,
            ),
            (
                "a kid-less key given a kid (tokens naming other kids lose their fallback)",
                set(&[unkeyed()]),
                set(&[hs(HS256, 3, Some("u"))]),
                true,
            ),
        ];
        for (name, old, new, superseded) in cases {
            assert_eq!(old.is_superseded_by(new), *superseded, "{name}");
        }
    }

    /// A key loaded from PEM and from its JWK is one key: a key source that switches
    /// formats supersedes nothing.
    #[test]
    fn one_key_loaded_from_pem_and_from_its_jwk_is_the_same_key() {
        use base64::engine::general_purpose::STANDARD;
        let pem = |spki_prefix: &[u8], public: &[u8]| {
            let der = [spki_prefix, public].concat();
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                STANDARD.encode(der)
            )
        };
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
        // RFC 7515 A.3 (P-256) and RFC 8037 A.2 (Ed25519).
        let (x, y) = (
            "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        );
        let ed = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        const P256_SPKI: &[u8] = &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        const ED25519_SPKI: &[u8] = &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        let point = [&[0x04][..], &decode(x), &decode(y)].concat();
        let cases = [
            (
                "P-256",
                Algorithm::ES256,
                pem(P256_SPKI, &point),
                serde_json::json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
            ),
            (
                "Ed25519",
                Algorithm::EdDSA,
                pem(ED25519_SPKI, &decode(ed)),
                serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": ed }),
            ),
        ];
        for (name, alg, pem, jwk) in cases {
            let from_pem = VerifyingKey::from_pem(alg, pem.as_bytes()).expect(name);
            let from_jwk = VerifyingKey::from_jwk(&jwk).expect(name);
            assert!(from_pem.same_key_as(&from_jwk), "{name}");
            assert!(
                !from_pem.same_key_as(&hs(Algorithm::HS256, 1, None)),
                "{name}"
            );
        }
    }

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
