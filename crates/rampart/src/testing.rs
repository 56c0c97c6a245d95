//! Test support (feature `testing`): mint real signed tokens and get the validator or
//! JWKS document that accepts them. Nothing is mocked: the validator under test is the
//! production one, fed by a generated key.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use rampart::testing::TestIssuer;
//! use rampart::Algorithm;
//! let issuer = TestIssuer::new(Algorithm::ES256);
//! let token = issuer.token().sub("alice").scope("notes:read").sign();
//! let claims = issuer.validator().validate(&token).await.unwrap();
//! assert_eq!(claims.sub.as_deref(), Some("alice"));
//! # }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::signing::{SigningKey, jwks_document};
use crate::token::{Algorithm, Validator, ValidatorBuilder};

/// Default issuer of test tokens.
pub const TEST_ISSUER: &str = "https://issuer.test";
/// Default audience of test tokens.
pub const TEST_AUDIENCE: &str = "test-api";
/// Default `client_id` of test tokens.
pub const TEST_CLIENT_ID: &str = "test-client";

/// A generated key plus the issuer and audience its tokens carry.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    key: SigningKey,
    issuer: String,
    audience: String,
}

impl TestIssuer {
    /// A fresh key for `alg` (RSA keys take a moment to generate).
    pub fn new(alg: Algorithm) -> Self {
        Self::from_key(SigningKey::generate(alg).expect("key generation works on this platform"))
    }

    /// Uses an existing signing key.
    pub fn from_key(key: SigningKey) -> Self {
        Self {
            key,
            issuer: TEST_ISSUER.to_owned(),
            audience: TEST_AUDIENCE.to_owned(),
        }
    }

    /// Sets the issuer written into tokens and required by [`Self::validator`].
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Sets the audience written into tokens and required by [`Self::validator`].
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A builder preloaded with this issuer, audience and key; customise and `build()`.
    pub fn validator_builder(&self) -> ValidatorBuilder {
        Validator::builder()
            .issuer(&self.issuer)
            .audience(&self.audience)
            .keys([self.key.verifying_key()])
    }

    /// The validator that accepts this issuer's tokens, with default policy.
    pub fn validator(&self) -> Validator {
        self.validator_builder()
            .build()
            .expect("a test issuer always yields a valid validator")
    }

    /// The public JWKS document (empty for HMAC keys).
    pub fn jwks(&self) -> Value {
        jwks_document([&self.key])
    }

    /// Starts a token with every claim RFC 9068 §2.2 requires of an access token: `iss`,
    /// `aud`, `sub` = `test-user`, `client_id` = [`TEST_CLIENT_ID`], `iat` = now, `exp` =
    /// now + 15 min, a random `jti`; header `typ: at+jwt`. Remove one with
    /// [`TokenBuilder::without`] to test its absence.
    pub fn token(&self) -> TokenBuilder<'_> {
        let now = now();
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).expect("the system RNG works");
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.audience));
        claims.insert("sub".into(), json!("test-user"));
        claims.insert("client_id".into(), json!(TEST_CLIENT_ID));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 900));
        claims.insert("jti".into(), json!(URL_SAFE_NO_PAD.encode(jti)));
        TokenBuilder {
            issuer: self,
            claims,
            typ: "at+jwt".to_owned(),
        }
    }

    /// Signs arbitrary claims (any JSON, exactly as given: nothing is added) with header
    /// `typ: at+jwt`.
    pub fn mint(&self, claims: &Value) -> String {
        self.key
            .sign("at+jwt", claims)
            .expect("signing with a generated key works")
    }
}

/// Builds one test token; see [`TestIssuer::token`].
#[derive(Debug)]
#[must_use]
pub struct TokenBuilder<'i> {
    issuer: &'i TestIssuer,
    claims: Map<String, Value>,
    typ: String,
}

impl TokenBuilder<'_> {
    /// Sets `sub`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }
    /// Sets `scope` (space-separated).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", json!(scope))
    }
    /// Sets `roles`.
    pub fn roles(self, roles: &[&str]) -> Self {
        self.claim("roles", json!(roles))
    }
    /// Sets `exp` to now + `secs` (negative for an expired token).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", json!(now() + secs))
    }
    /// Sets the header `typ`.
    pub fn typ(mut self, typ: &str) -> Self {
        self.typ = typ.to_owned();
        self
    }
    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }
    /// Removes a claim.
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }
    /// Signs the token.
    pub fn sign(self) -> String {
        self.issuer
            .key
            .sign(&self.typ, &Value::Object(self.claims))
            .expect("signing with a generated key works")
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
