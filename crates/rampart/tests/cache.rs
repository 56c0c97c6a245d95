//! The verified-token cache never makes validation more permissive.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use rampart::signing::SigningKey;
use rampart::testing::TestIssuer;
use rampart::token::{KeySetHandle, RevocationList};
use rampart::{Algorithm, KeySet, TokenError, Validator, VerifyingKey};

fn clock() -> (Arc<AtomicI64>, impl Fn() -> i64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicI64::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    ));
    let read = Arc::clone(&now);
    (now, move || read.load(Ordering::Relaxed))
}

#[derive(Default)]
struct Denylist(Mutex<HashSet<String>>);

impl RevocationList for Denylist {
    fn is_revoked(&self, jti: &str) -> bool {
        self.0.lock().unwrap().contains(jti)
    }
}

#[tokio::test]
async fn a_cached_token_still_expires_on_time() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (now, read) = clock();
    let validator = issuer.validator_builder().clock(read).build().unwrap();
    let token = issuer.token().expires_in(60).sign();
    validator.verify(&token).await.unwrap();
    validator.verify(&token).await.unwrap(); // a hit
    now.fetch_add(91, Ordering::Relaxed); // beyond exp + 30 s leeway
    assert_eq!(
        validator.verify(&token).await.unwrap_err(),
        TokenError::Expired
    );
}

#[tokio::test]
async fn a_cached_token_revoked_later_is_refused() {
    let issuer = TestIssuer::new(Algorithm::EdDSA);
    let list = Arc::new(Denylist::default());
    let validator = issuer
        .validator_builder()
        .revocation_list(Arc::clone(&list) as Arc<dyn RevocationList>)
        .build()
        .unwrap();
    let token = issuer.token().claim("jti", serde_json::json!("j-1")).sign();
    validator.verify(&token).await.unwrap();
    list.0.lock().unwrap().insert("j-1".into());
    assert_eq!(
        validator.verify(&token).await.unwrap_err(),
        TokenError::Revoked
    );
}

#[tokio::test]
async fn removing_a_key_flushes_the_tokens_it_verified() {
    let old = TestIssuer::new(Algorithm::ES256);
    let new = TestIssuer::new(Algorithm::ES256);
    let handle = KeySetHandle::new(KeySet::new([old.signing_key().verifying_key()]).unwrap());
    let validator = Validator::builder()
        .issuer(old.issuer())
        .audience(old.audience())
        .key_set_handle(handle.clone())
        .build()
        .unwrap();
    let token = old.token().sign();
    validator.verify(&token).await.unwrap();
    // Adding a key leaves the token valid (a key of the same algorithm flushes the cache,
    // since a token without kid could now select either, but the token validates in
    // full); removing the old key refuses it.
    handle.replace(
        KeySet::new([
            old.signing_key().verifying_key(),
            new.signing_key().verifying_key(),
        ])
        .unwrap(),
    );
    validator.verify(&token).await.unwrap();
    handle.replace(KeySet::new([new.signing_key().verifying_key()]).unwrap());
    assert_eq!(
        validator.verify(&token).await.unwrap_err(),
        TokenError::UnknownKey
    );
}

#[tokio::test]
async fn a_different_token_never_hits_the_entry_of_a_valid_one() {
    let issuer = TestIssuer::new(Algorithm::HS256);
    let validator = issuer.validator();
    let token = issuer.token().sign();
    validator.verify(&token).await.unwrap();
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(validator.verify(&forged).await.is_err());
    // A failure is not cached as a success either.
    assert!(validator.verify(&forged).await.is_err());
    validator.verify(&token).await.unwrap();
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let (now, read) = clock();
    let validator = issuer
        .validator_builder()
        .clock(read)
        .no_cache()
        .build()
        .unwrap();
    let token = issuer.token().expires_in(60).sign();
    validator.verify(&token).await.unwrap();
    now.fetch_add(91, Ordering::Relaxed);
    assert_eq!(
        validator.verify(&token).await.unwrap_err(),
        TokenError::Expired
    );
    assert!(
        issuer
            .validator_builder()
            .cache(rampart::token::CacheConfig {
                max_entries: 0,
                max_bytes: 1
            })
            .build()
            .is_err()
    );
}

/// `claims_as::<Claims>()` hands out the claims parsed at validation instead of parsing
/// the payload again; it must be exactly what parsing gives, on a miss and on a hit.
#[tokio::test]
async fn the_standard_claims_fast_path_equals_parsing_the_payload() {
    let issuer = TestIssuer::new(Algorithm::HS256);
    let validator = issuer.validator();
    let token = issuer
        .token()
        .sub("alice")
        .scope("a b")
        .roles(&["admin", "ops"])
        .claim("jti", serde_json::json!("j-9"))
        .claim("client_id", serde_json::json!("cli"))
        .claim("aud", serde_json::json!([issuer.audience(), "other"]))
        .sign();
    for _ in 0..2 {
        let verified = validator.verify(&token).await.unwrap();
        let fast: rampart::Claims = verified.claims_as().unwrap();
        let parsed: rampart::Claims = serde_json::from_slice(&verified.payload).unwrap();
        assert_eq!(fast, parsed);
        assert_eq!(fast.sub.as_deref(), Some("alice"));
        assert_eq!(fast.roles, ["admin", "ops"]);
        // Any other type still comes from the payload.
        let raw: serde_json::Value = verified.claims_as().unwrap();
        assert_eq!(raw["client_id"], "cli");
    }
}

/// Counts the validations answered from the cache.
fn hit_counter() -> (
    Arc<AtomicUsize>,
    impl Fn(&'static str) + Send + Sync + 'static,
) {
    let hits = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&hits);
    (hits, move |outcome| {
        if outcome == "cache_hit" {
            count.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Issue 14 part 2: a key set that keeps its kids but swaps an HMAC secret must stop the
/// tokens the old secret verified, cached or not: full validation refuses them, so a hit
/// must too.
#[tokio::test]
async fn a_swapped_hmac_secret_stops_the_tokens_the_old_secret_verified() {
    let old = TestIssuer::new(Algorithm::HS256);
    let new_secret = SigningKey::generate(Algorithm::HS256).unwrap();
    let new_secret = new_secret.secret_bytes();
    let old_secret = old.signing_key().secret_bytes();
    let hs = |secret: &[u8]| VerifyingKey::hmac(Algorithm::HS256, secret).unwrap();
    let cases = [
        (
            "the same kid, another secret",
            KeySet::new([old.signing_key().verifying_key()]).unwrap(),
            KeySet::new([hs(new_secret).with_kid(old.signing_key().kid())]).unwrap(),
        ),
        (
            "no kid (the only key serves every token), another secret",
            KeySet::new([hs(old_secret)]).unwrap(),
            KeySet::new([hs(new_secret)]).unwrap(),
        ),
    ];
    for (name, before, after) in cases {
        let handle = KeySetHandle::new(before);
        let (hits, observe) = hit_counter();
        let validator = Validator::builder()
            .issuer(old.issuer())
            .audience(old.audience())
            .key_set_handle(handle.clone())
            .observe(observe)
            .build()
            .unwrap();
        let token = old.token().sign();
        validator.verify(&token).await.unwrap();
        validator.verify(&token).await.unwrap();
        assert_eq!(
            hits.load(Ordering::Relaxed),
            1,
            "{name}: the token is cached"
        );

        handle.replace(after);
        assert_eq!(
            validator.verify(&token).await.unwrap_err(),
            TokenError::InvalidSignature,
            "{name}"
        );
        // The new secret's tokens are unaffected.
        let renewed = SigningKey::from_secret(
            Algorithm::HS256,
            new_secret.to_vec(),
            Some(old.signing_key().kid().to_owned()),
        )
        .unwrap();
        let renewed = TestIssuer::from_key(renewed).token().sign();
        validator.verify(&renewed).await.unwrap();
    }
}

/// Issue 14 part 2: a key removed while requests are being verified with it. A
/// validation that loaded the old keys before the removal may still succeed (it started
/// first), but must not leave its verdict in the cache: every validation that starts
/// after `replace` returned refuses the old key's tokens. Many trials, each removing the
/// key while two workers are verifying fresh tokens (each a cache miss, so a full
/// verification that may straddle the removal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_key_while_tokens_are_being_verified_leaves_no_stale_verdict_in_the_cache() {
    const TRIALS: usize = 150;
    const TOKENS: usize = 64;
    // The removal starts once this many are done, leaving the workers busy long enough
    // for it to land among their verifications even on a loaded machine.
    const BEFORE_REMOVAL: usize = 8;
    let old = TestIssuer::new(Algorithm::ES256);
    let new = TestIssuer::new(Algorithm::ES256);
    let (mut stale, mut straddled) = (0, 0);
    for trial in 0..TRIALS {
        let handle = KeySetHandle::new(KeySet::new([old.signing_key().verifying_key()]).unwrap());
        let validator = Validator::builder()
            .issuer(old.issuer())
            .audience(old.audience())
            .key_set_handle(handle.clone())
            .build()
            .unwrap();
        let tokens: Arc<Vec<String>> = Arc::new(
            (0..TOKENS)
                .map(|i| old.token().sub(&format!("user-{trial}-{i}")).sign())
                .collect(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let (validator, tokens, done) =
                    (validator.clone(), Arc::clone(&tokens), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut accepted = 0;
                    for token in tokens.iter().skip(worker).step_by(2) {
                        accepted += usize::from(validator.verify(token).await.is_ok());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    accepted
                })
            })
            .collect();
        while done.load(Ordering::Relaxed) < BEFORE_REMOVAL {
            std::thread::yield_now();
        }
        handle.replace(KeySet::new([new.signing_key().verifying_key()]).unwrap());
        let mut accepted = 0;
        for worker in workers {
            accepted += worker.await.unwrap();
        }
        if accepted < TOKENS {
            straddled += 1;
        }
        // Every validation from here on started after the removal.
        for token in tokens.iter() {
            stale += usize::from(validator.verify(token).await.is_ok());
        }
    }
    assert_eq!(
        stale, 0,
        "tokens of a removed key accepted from the cache ({TRIALS} trials)"
    );
    assert!(
        straddled >= TRIALS / 4,
        "the removal landed while the workers were verifying in only {straddled} of \
         {TRIALS} trials: the test did not exercise the race"
    );
}
