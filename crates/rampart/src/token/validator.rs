//! The validator: built once, cloned cheaply into every request.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::cache::{CacheConfig, TokenCache};
use super::check::TokenCheck;
use super::handle::{KeySetHandle, RevocationList};
use super::jose::{self, Compact, Header};
use super::policy::{Policy, Profile, TypPolicy};
use super::{Algorithm, Claims, KeyError, KeySet, TokenError, VerifyingKey, claims};
use crate::jwks::RemoteJwks;
use crate::reject::{Rejection, RenderFn};

/// A token that passed every check of one [`Validator`]: its standard claims and its
/// decoded payload.
///
/// A `Verified` remembers which validator produced it, and only that validator's
/// extractors and layers trust it (see [`Verified::produced_by`]); it cannot be built
/// outside this crate.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The standard claims.
    pub claims: Arc<Claims>,
    /// The payload JSON, for deserializing the application's own claims type.
    pub payload: Arc<[u8]>,
    /// The [`Validator`] whose policy and keys accepted the token (`Inner::id`).
    pub(crate) validator: u64,
}

impl Verified {
    /// True when `validator` (or a clone of it) produced this verdict. A verdict of
    /// another validator says nothing about this one's issuer, audience, `typ`, profile or
    /// keys: the extractors validate again rather than trust it.
    pub fn produced_by(&self, validator: &Validator) -> bool {
        self.validator == validator.inner.id
    }

    /// Deserializes the payload into the application's claims type.
    ///
    /// When `C` is [`Claims`] itself, the claims parsed at validation are cloned instead of
    /// parsing the payload again (a cache hit then does no JSON work at all).
    pub fn claims_as<C: DeserializeOwned + 'static>(&self) -> Result<C, TokenError> {
        if TypeId::of::<C>() == TypeId::of::<Claims>() {
            let mut slot = Some(Claims::clone(&self.claims));
            if let Some(claims) = (&mut slot as &mut dyn Any)
                .downcast_mut::<Option<C>>()
                .and_then(Option::take)
            {
                return Ok(claims);
            }
        }
        serde_json::from_slice(&self.payload).map_err(|_| TokenError::ClaimsShape)
    }
}

type ClockFn = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Clone)]
pub(crate) enum Keys {
    Static(Arc<KeySet>),
    Shared(KeySetHandle),
    Remote(RemoteJwks),
}

struct Inner {
    /// Unique per built validator (shared by its clones): binds a [`Verified`] to the
    /// policy and keys that produced it.
    id: u64,
    policy: Policy,
    keys: Keys,
    clock: Option<ClockFn>,
    realm: String,
    allow_query_token: bool,
    render: Option<RenderFn>,
    revocation: Option<Arc<dyn RevocationList>>,
    check: Option<Arc<dyn TokenCheck>>,
    cache: Option<TokenCache>,
    observe: Option<ObserveFn>,
}

/// Called with the outcome of every validation: `valid`, `cache_hit`, or a
/// [`TokenError::code`].
pub type ObserveFn = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Validates bearer JWTs: signature with a key bound to one algorithm, then the claims
/// policy. Build it once with [`Validator::builder`], put it in your axum state, and the
/// extractors find it through `FromRef`. Cloning is an `Arc` increment.
///
/// ```
/// # fn main() -> Result<(), rampart::BuildError> {
/// use rampart::{Algorithm, Validator};
/// let validator = Validator::builder()
///     .issuer("https://auth.example.com")
///     .audience("notes-api")
///     .hmac(Algorithm::HS256, b"a-shared-secret-of-at-least-32-bytes!")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Why a [`Validator`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Neither `issuer(..)` nor `insecure_skip_iss()` was called.
    #[error("no issuer configured: call .issuer(..) (or .insecure_skip_iss() if you must)")]
    MissingIssuer,
    /// Neither `audience(..)` nor `insecure_skip_aud()` was called.
    #[error("no audience configured: call .audience(..) (or .insecure_skip_aud() if you must)")]
    MissingAudience,
    /// No key source was configured.
    #[error("no keys configured: call .keys(..), .hmac(..), .pem(..) or .jwks(..)")]
    NoKeys,
    /// Two key sources were configured.
    #[error("configure exactly one key source (static keys, a key-set handle or a remote JWKS)")]
    TwoKeySources,
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Invalid(&'static str),
}

/// Builder for [`Validator`]. Safe by default: issuer and audience are required unless
/// explicitly skipped, `typ` must be `at+jwt`, every claim RFC 9068 §2.2 requires must
/// be present ([`Profile::AccessToken`]), leeway 30 s, tokens over 8 KiB refused.
#[must_use]
pub struct ValidatorBuilder {
    policy: Policy,
    skip_iss: bool,
    skip_aud: bool,
    static_keys: Vec<VerifyingKey>,
    remote: Option<RemoteJwks>,
    shared: Option<KeySetHandle>,
    revocation: Option<Arc<dyn RevocationList>>,
    check: Option<Arc<dyn TokenCheck>>,
    cache: Option<CacheConfig>,
    observe: Option<ObserveFn>,
    errors: Vec<BuildError>,
    clock: Option<ClockFn>,
    realm: String,
    allow_query_token: bool,
    render: Option<RenderFn>,
}

impl Validator {
    /// Starts a builder.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder {
            policy: Policy::default(),
            skip_iss: false,
            skip_aud: false,
            static_keys: Vec::new(),
            remote: None,
            shared: None,
            revocation: None,
            check: None,
            cache: Some(CacheConfig::default()),
            observe: None,
            errors: Vec::new(),
            clock: None,
            realm: "api".to_owned(),
            allow_query_token: false,
            render: None,
        }
    }

    /// Validates a token and returns its standard claims.
    pub async fn validate(&self, token: &str) -> Result<Claims, TokenError> {
        let verified = self.verify(token).await?;
        Ok(Arc::unwrap_or_clone(verified.claims))
    }

    /// Validates a token and deserializes its payload as `C` as well.
    pub async fn validate_as<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
    ) -> Result<(Claims, C), TokenError> {
        let verified = self.verify(token).await?;
        let custom = verified.claims_as()?;
        Ok((Arc::unwrap_or_clone(verified.claims), custom))
    }

    /// Full validation; the extractors and layers call this.
    pub async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let result = match self.cached(token) {
            Some(result) => result,
            None => self.verify_uncached(token).await,
        };
        self.check_state(result?).await
    }

    /// Runs the application's [`TokenCheck`], if any, on a token that passed every other
    /// check (cache hit or full validation alike).
    pub(crate) async fn check_state(&self, verified: Verified) -> Result<Verified, TokenError> {
        if let Some(check) = &self.inner.check
            && let Err(e) = check.check(&verified.claims).await
        {
            self.observe(e.code());
            return Err(e);
        }
        Ok(verified)
    }

    /// The verified-token cache's answer for `token`: `None` on a miss (or with the cache
    /// off), otherwise the hit re-checked against the clock and the revocation list, so
    /// it is never more permissive than a full validation now. Synchronous and
    /// allocation-free: this is the path of almost every request.
    pub(crate) fn cached(&self, token: &str) -> Option<Result<Verified, TokenError>> {
        let cache = self.inner.cache.as_ref()?;
        // Before any work: bound what an attacker can make us hash.
        if token.len() > self.inner.policy.max_token_len {
            return None;
        }
        // A hit counts only under the key-set generation it was made in.
        let generation = self.key_generation();
        cache.sync_generation(generation);
        let now = self.now();
        let hit = cache.get(token, generation, now)?;
        let result = self
            .inner
            .policy
            .check(&hit.claims, now)
            .and_then(|()| self.check_revocation(&hit.claims))
            .map(|()| hit);
        self.observe(match &result {
            Ok(_) => "cache_hit",
            Err(e) => e.code(),
        });
        Some(result)
    }

    /// Full validation without consulting the cache (a success is inserted into it).
    pub(crate) async fn verify_uncached(&self, token: &str) -> Result<Verified, TokenError> {
        let result = self.verify_full(token).await;
        self.observe(match &result {
            Ok(_) => "valid",
            Err(e) => e.code(),
        });
        result
    }

    fn observe(&self, outcome: &'static str) {
        if let Some(observe) = &self.inner.observe {
            observe(outcome);
        }
    }

    async fn verify_full(&self, token: &str) -> Result<Verified, TokenError> {
        let now = self.now();
        let policy = &self.inner.policy;
        // Before any decoding: bound the work an attacker can make us do.
        if token.len() > policy.max_token_len {
            return Err(TokenError::TooLarge);
        }
        let parts = Compact::split(token)?;
        let header_json = jose::b64_decode(parts.header_b64)?;
        let header = Header::parse(&header_json)?;
        if !policy.typ.allows(header.typ.as_deref()) {
            return Err(TokenError::WrongType);
        }
        // Read before the keys are loaded: a verdict reached with keys that were replaced
        // meanwhile then carries an older generation than the current one, and is neither
        // inserted nor ever served from the cache.
        let generation = self.key_generation();
        self.verify_signature(&parts, &header).await?;
        let payload = jose::b64_decode(parts.payload_b64)?;
        jose::check_json_object(&payload)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|_| claims::diagnose(&payload))?;
        policy.check(&claims, now)?;
        self.check_revocation(&claims)?;
        let verified = Verified {
            claims: Arc::new(claims),
            payload: Arc::from(payload),
            validator: self.inner.id,
        };
        if let Some(cache) = &self.inner.cache
            && self.key_generation() == generation
        {
            // The keys did not change while this token was verified (if they change
            // right now, the stamp is what keeps the entry from being served).
            cache.sync_generation(generation);
            cache.insert(token, &verified, now, generation);
        }
        Ok(verified)
    }

    fn check_revocation(&self, claims: &Claims) -> Result<(), TokenError> {
        match (&self.inner.revocation, claims.jti.as_deref()) {
            (Some(list), Some(jti)) if list.is_revoked(jti) => Err(TokenError::Revoked),
            _ => Ok(()),
        }
    }

    fn key_generation(&self) -> u64 {
        match &self.inner.keys {
            Keys::Static(_) => 0,
            Keys::Shared(handle) => handle.generation(),
            Keys::Remote(remote) => remote.generation(),
        }
    }

    /// Empties the verified-token cache (call it after revoking tokens by other means
    /// than the revocation list, e.g. when disabling a user).
    pub fn flush_cache(&self) {
        if let Some(cache) = &self.inner.cache {
            cache.invalidate_all();
        }
    }

    /// Verifies only the JWS layer and returns the payload bytes, **without any claims
    /// check**: never use it to authenticate a request.
    ///
    /// Checked: the size limit, the compact form, the header rules (`alg` bound to the
    /// selected key, no `crit`, no unencoded payload, no duplicate header members) and
    /// the signature. Skipped: every check of the payload, i.e. `exp`, `nbf`, `iat` and
    /// the maximum age, `iss`, `aud`, `typ`, the [`Profile`]'s required claims, the
    /// revocation list, the application's token check and the verified-token cache. The
    /// payload need not even be JSON. For non-JWT JWS payloads and known-answer test
    /// vectors; [`verify`](Self::verify) is the check for access tokens.
    pub async fn insecure_verify_jws_without_claims(
        &self,
        token: &str,
    ) -> Result<Vec<u8>, TokenError> {
        if token.len() > self.inner.policy.max_token_len {
            return Err(TokenError::TooLarge);
        }
        let parts = Compact::split(token)?;
        let header_json = jose::b64_decode(parts.header_b64)?;
        let header = Header::parse(&header_json)?;
        self.verify_signature(&parts, &header).await?;
        jose::b64_decode(parts.payload_b64)
    }

    /// Finds the key for the header (refetching a remote JWKS once on an unknown `kid`)
    /// and checks the signature.
    async fn verify_signature(
        &self,
        parts: &Compact<'_>,
        header: &Header<'_>,
    ) -> Result<(), TokenError> {
        let kid = header.kid.as_deref();
        match &self.inner.keys {
            Keys::Static(set) => set
                .select(kid, header.alg)?
                .verify(parts.signing_input, parts.signature_b64)?,
            Keys::Shared(handle) => handle
                .current()
                .select(kid, header.alg)?
                .verify(parts.signing_input, parts.signature_b64)?,
            Keys::Remote(remote) => {
                let set = remote.key_set().await?;
                match set.select(kid, header.alg) {
                    Ok(key) => key.verify(parts.signing_input, parts.signature_b64)?,
                    // An unknown kid may mean the issuer rotated: refetch (single-flight,
                    // rate-limited by the cooldown) and look once more.
                    Err(TokenError::UnknownKey) => {
                        let set = remote.refresh_for_unknown_kid().await?;
                        set.select(kid, header.alg)?
                            .verify(parts.signing_input, parts.signature_b64)?;
                    }
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(())
    }

    /// The current time in seconds since the epoch, from the configured clock.
    pub fn now(&self) -> i64 {
        match &self.inner.clock {
            Some(clock) => clock(),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// The `realm` used in `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Whether `?access_token=` (RFC 6750 §2.3) is accepted.
    pub fn allows_query_token(&self) -> bool {
        self.inner.allow_query_token
    }

    pub(crate) fn renderer(&self) -> Option<RenderFn> {
        self.inner.render.clone()
    }
}

impl ValidatorBuilder {
    /// The exact `iss` every token must carry (required unless `insecure_skip_iss`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.policy.issuer = Some(issuer.into());
        self
    }

    /// Accept tokens with any issuer. Only for issuers whose `iss` cannot be predicted.
    /// Under the default [`Profile::AccessToken`] a token must still carry some `iss`
    /// (RFC 9068 §2.2); with [`Profile::PlainJwt`] it may carry none.
    pub fn insecure_skip_iss(mut self) -> Self {
        self.skip_iss = true;
        self
    }

    /// Adds an accepted audience; a token must name at least one of them in `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.policy.audiences.push(audience.into());
        self
    }

    /// Accept tokens for any audience. Tokens minted for another service then work here.
    /// Under the default [`Profile::AccessToken`] a token must still carry some `aud`
    /// (RFC 9068 §2.2); with [`Profile::PlainJwt`] it may carry none.
    pub fn insecure_skip_aud(mut self) -> Self {
        self.skip_aud = true;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        if leeway > Duration::from_secs(300) {
            self.errors
                .push(BuildError::Invalid("leeway above 5 minutes"));
        }
        self.policy.leeway = leeway.as_secs();
        self
    }

    /// The `typ` header policy (default [`TypPolicy::AccessToken`]). It decides only the
    /// header: which claims must be present is the [`profile`](Self::profile)'s business,
    /// so `TypPolicy::Any` alone does not relax them.
    pub fn typ(mut self, typ: TypPolicy) -> Self {
        self.policy.typ = typ;
        self
    }

    /// Which claims every token must carry (default [`Profile::AccessToken`]: all of
    /// `iss`, `exp`, `aud`, `sub`, `client_id`, `iat` and `jti`, RFC 9068 §2.2).
    ///
    /// For a legacy issuer of plain JWTs, spell out both relaxations, header and claims:
    ///
    /// ```
    /// # fn main() -> Result<(), rampart::BuildError> {
    /// use rampart::{Algorithm, Profile, TypPolicy, Validator};
    /// let legacy = Validator::builder()
    ///     .issuer("https://legacy.example.com")
    ///     .audience("notes-api")
    ///     .typ(TypPolicy::Any)
    ///     .profile(Profile::PlainJwt)
    ///     .hmac(Algorithm::HS256, b"a-shared-secret-of-at-least-32-bytes!")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn profile(mut self, profile: Profile) -> Self {
        self.policy.profile = profile;
        self
    }

    /// Refuse tokens whose `iat` is older than this (and tokens without `iat`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.policy.max_age = Some(max_age);
        self
    }

    /// Longest accepted token in bytes (default 8 KiB), checked before decoding.
    pub fn max_token_len(mut self, len: usize) -> Self {
        if len < 64 {
            self.errors
                .push(BuildError::Invalid("max_token_len below 64 bytes"));
        }
        self.policy.max_token_len = len;
        self
    }

    /// Static verification keys.
    pub fn keys(mut self, keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        self.static_keys.extend(keys);
        self
    }

    /// Adds an HMAC secret for `alg`; secrets under 32 bytes fail the build.
    pub fn hmac(mut self, alg: Algorithm, secret: &[u8]) -> Self {
        match VerifyingKey::hmac(alg, secret) {
            Ok(key) => self.static_keys.push(key),
            Err(e) => self.errors.push(e.into()),
        }
        self
    }

    /// Adds a PEM public key bound to `alg`.
    pub fn pem(mut self, alg: Algorithm, pem: &[u8]) -> Self {
        match VerifyingKey::from_pem(alg, pem) {
            Ok(key) => self.static_keys.push(key),
            Err(e) => self.errors.push(e.into()),
        }
        self
    }

    /// Adds every usable key of a static JWKS document.
    pub fn jwks_document(mut self, json: &[u8]) -> Self {
        match KeySet::from_jwks(json) {
            Ok(set) => self.static_keys.extend(set.keys().cloned()),
            Err(e) => self.errors.push(e.into()),
        }
        self
    }

    /// Keys from a remote JWKS endpoint, cached and refreshed (see [`RemoteJwks`]).
    pub fn jwks(mut self, remote: RemoteJwks) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Keys from a handle the application replaces at run time (see [`KeySetHandle`]).
    pub fn key_set_handle(mut self, handle: KeySetHandle) -> Self {
        self.shared = Some(handle);
        self
    }

    /// Verified-token cache settings (on by default: 100,000 entries, 64 MiB).
    pub fn cache(mut self, config: CacheConfig) -> Self {
        if config.max_entries == 0 || config.max_bytes == 0 {
            self.errors.push(BuildError::Invalid(
                "cache bounds must be positive; use no_cache() to disable it",
            ));
        }
        self.cache = Some(config);
        self
    }

    /// Observe every validation outcome (for metrics): `valid`, `cache_hit`, or the
    /// [`TokenError::code`] of the refusal. Keep it cheap: it runs on every request.
    pub fn observe(mut self, observe: impl Fn(&'static str) + Send + Sync + 'static) -> Self {
        self.observe = Some(Arc::new(observe));
        self
    }

    /// Validate every token in full, every time.
    pub fn no_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// Refuse tokens whose `jti` is on this list (checked after every other check).
    pub fn revocation_list(mut self, list: Arc<dyn RevocationList>) -> Self {
        self.revocation = Some(list);
        self
    }

    /// An application check of every accepted token's state (see [`TokenCheck`]), run
    /// after the revocation list, on cache hits too.
    pub fn token_check(mut self, check: Arc<dyn TokenCheck>) -> Self {
        self.check = Some(check);
        self
    }

    /// The realm named in `WWW-Authenticate` challenges (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let realm = realm.into();
        if !realm
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            self.errors.push(BuildError::Invalid(
                "realm must be printable ASCII without quotes",
            ));
        }
        self.realm = realm;
        self
    }

    /// Also accept `?access_token=` in the query string (RFC 6750 §2.3). Off by default:
    /// URLs end up in logs, histories and `Referer` headers.
    pub fn allow_query_token(mut self) -> Self {
        self.allow_query_token = true;
        self
    }

    /// Replaces the body of every rejection (status and `WWW-Authenticate` are kept).
    pub fn rejection_body(
        mut self,
        render: impl Fn(&Rejection) -> axum::response::Response + Send + Sync + 'static,
    ) -> Self {
        self.render = Some(Arc::new(render));
        self
    }

    /// A clock returning seconds since the epoch, for tests with fixed time.
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the validator, reporting the first configuration error.
    pub fn build(mut self) -> Result<Validator, BuildError> {
        if let Some(first) = self.errors.drain(..).next() {
            return Err(first);
        }
        if self.policy.issuer.is_none() && !self.skip_iss {
            return Err(BuildError::MissingIssuer);
        }
        if self.policy.audiences.is_empty() && !self.skip_aud {
            return Err(BuildError::MissingAudience);
        }
        let keys = match (self.static_keys.is_empty(), self.remote, self.shared) {
            (true, None, None) => return Err(BuildError::NoKeys),
            (true, Some(remote), None) => Keys::Remote(remote),
            (true, None, Some(handle)) => Keys::Shared(handle),
            (false, None, None) => Keys::Static(Arc::new(KeySet::new(self.static_keys)?)),
            _ => return Err(BuildError::TwoKeySources),
        };
        // Only uniqueness matters (no ordering with anything else): Relaxed.
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Validator {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                policy: self.policy,
                keys,
                clock: self.clock,
                realm: self.realm,
                allow_query_token: self.allow_query_token,
                render: self.render,
                revocation: self.revocation,
                check: self.check,
                cache: self.cache.map(TokenCache::new),
                observe: self.observe,
            }),
        })
    }
}
