//! What full validation costs on top of the bare signature check, per algorithm, and what
//! a verified-token cache hit costs.
//!
//! For each algorithm, one group with two benches over the same token:
//! - `bare_signature`: `jsonwebtoken::crypto::verify` alone, the floor any validator pays;
//! - `full_validation`: `Validator::verify` with static keys and the cache off — size
//!   check, strict header and payload parsing (duplicate members, `crit`, `typ`), key
//!   selection by `kid`, the signature, and the claims policy.
//!
//! The difference is rampart's overhead. The `cache` group measures the default validator
//! on a token it has already verified (lookup plus the time/revocation re-check); it does
//! not depend on the algorithm, so it runs once.
//!
//! Run with `cargo bench -p rampart --bench validation` (`-- --test` runs each bench once,
//! as a smoke test).

use std::hint::black_box;
use std::str::FromStr as _;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use rampart::Algorithm;
use rampart::testing::TestIssuer;

const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The jsonwebtoken key for the issuer's key: from its public JWK, or its HMAC secret.
fn decoding_key(issuer: &TestIssuer) -> DecodingKey {
    let key = issuer.signing_key();
    match key.public_jwk() {
        Some(jwk) => {
            let jwk: Jwk = serde_json::from_value(jwk)
                .expect("a generated public JWK parses as a jsonwebtoken JWK");
            DecodingKey::from_jwk(&jwk).expect("a generated public JWK yields a decoding key")
        }
        None => DecodingKey::from_secret(key.secret_bytes())
            .expect("a generated HMAC secret is a valid key"),
    }
}

fn validation(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let issuer = TestIssuer::new(alg);
        let token = issuer
            .token()
            .sub("alice")
            .scope("notes:read notes:write")
            .roles(&["admin"])
            .sign();
        let validator = issuer
            .validator_builder()
            .no_cache()
            .build()
            .expect("a test issuer yields a valid validator");

        let (signing_input, signature) = token
            .rsplit_once('.')
            .expect("a compact JWS has three parts");
        let key = decoding_key(&issuer);
        let jwt_alg = jsonwebtoken::Algorithm::from_str(alg.as_str())
            .expect("jsonwebtoken knows every rampart algorithm");
        // Both benches must measure a successful check, not a fast failure.
        assert!(
            jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key, jwt_alg)
                .expect("verifies")
        );
        assert!(
            matches!(validator.verify(&token).now_or_never(), Some(Ok(_))),
            "{alg}: the token validates"
        );

        let mut group = c.benchmark_group(alg.as_str());
        group.bench_function("bare_signature", |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(
                    black_box(signature),
                    black_box(signing_input.as_bytes()),
                    black_box(&key),
                    jwt_alg,
                )
            });
        });
        group.bench_function("full_validation", |b| {
            b.iter(|| {
                // Static keys never await, so the future completes on its first poll.
                let verified = validator.verify(black_box(&token)).now_or_never();
                assert!(matches!(verified, Some(Ok(_))));
                verified
            });
        });
        group.finish();
    }
}

fn cache_hit(c: &mut Criterion) {
    let issuer = TestIssuer::new(Algorithm::ES256);
    let token = issuer.token().sub("alice").scope("notes:read").sign();
    // The default validator caches verified tokens; the first call fills the cache.
    let validator = issuer.validator();
    assert!(matches!(
        validator.verify(&token).now_or_never(),
        Some(Ok(_))
    ));

    let mut group = c.benchmark_group("cache");
    group.bench_function("hit", |b| {
        b.iter(|| {
            let verified = validator.verify(black_box(&token)).now_or_never();
            assert!(matches!(verified, Some(Ok(_))));
            verified
        });
    });
    // What `Auth<Claims>` adds on top: the standard claims handed out by value.
    group.bench_function("hit_and_claims", |b| {
        b.iter(|| {
            let verified = validator.verify(black_box(&token)).now_or_never();
            let Some(Ok(verified)) = verified else {
                panic!("a cached token validates")
            };
            verified
                .claims_as::<rampart::Claims>()
                .expect("the standard claims")
        });
    });
    group.finish();
}

/// Short runs (the whole file in about a minute on a small machine); pass
/// `--measurement-time`/`--warm-up-time` on the command line for tighter numbers.
fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .nresamples(20_000)
}

criterion_group! {
    name = benches;
    config = config();
    targets = validation, cache_hit
}
criterion_main!(benches);
