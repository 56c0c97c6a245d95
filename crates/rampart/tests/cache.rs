//! The verified-token cache never makes validation more permissive.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use rampart::testing::TestIssuer;
use rampart::token::{KeySetHandle, RevocationList};
use rampart::{Algorithm, KeySet, TokenError, Validator};

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
    // Adding a key keeps the cache; removing the old one flushes it.
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
