//! The remote JWKS client against a real local HTTP server whose behaviour each test
//! controls: which keys it serves, failures, delays, `Cache-Control`, oversized bodies.
//! Fetches are counted on the server.

// `allow-unwrap-in-tests` covers `#[test]` functions only, not the helpers and server here.
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::join_all;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER, TestIssuer};
use rampart::{Algorithm, JwksError, KeyError, RemoteJwks, TokenError, Validator};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The controllable JWKS server.

#[derive(Clone, Debug)]
enum Mode {
    /// Serve the current document as JSON.
    Serve,
    /// Answer with this status and no document.
    Status(u16),
    /// Wait this long, then serve the document.
    Delay(Duration),
    /// Serve these bytes as the body.
    Raw(String),
    /// Serve these bytes in chunks, without a `Content-Length`.
    Chunked(String),
}

struct Shared {
    doc: Mutex<Value>,
    mode: Mutex<Mode>,
    cache_control: Mutex<Option<String>>,
    fetches: AtomicUsize,
}

struct JwksServer {
    url: String,
    shared: Arc<Shared>,
}

impl JwksServer {
    async fn start(doc: Value) -> Self {
        let shared = Arc::new(Shared {
            doc: Mutex::new(doc),
            mode: Mutex::new(Mode::Serve),
            cache_control: Mutex::new(None),
            fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(serve_jwks))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, shared }
    }

    fn serve(&self, doc: Value) {
        *self.shared.doc.lock().unwrap() = doc;
    }

    fn mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn cache_control(&self, value: &str) {
        *self.shared.cache_control.lock().unwrap() = Some(value.to_owned());
    }

    fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// A client with a short timeout and the given cooldown (tests adjust the rest).
    fn remote(&self, cooldown: Duration) -> RemoteJwks {
        RemoteJwks::builder(&self.url)
            .cooldown(cooldown)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    }
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = shared.mode.lock().unwrap().clone();
    let cache_control = shared.cache_control.lock().unwrap().clone();
    if let Mode::Delay(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    let doc = shared.doc.lock().unwrap().to_string();
    let mut response = match mode {
        Mode::Serve | Mode::Delay(_) => doc.into_response(),
        Mode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Mode::Raw(body) => body.into_response(),
        Mode::Chunked(body) => {
            let chunks: Vec<Result<String, Infallible>> = body
                .as_bytes()
                .chunks(512)
                .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
                .collect();
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "application/jwk-set+json".parse().unwrap(),
    );
    if let Some(value) = cache_control {
        headers.insert(header::CACHE_CONTROL, value.parse().unwrap());
    }
    response
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// One JWKS document publishing the keys of all these issuers.
fn doc(issuers: &[&TestIssuer]) -> Value {
    let keys: Vec<Value> = issuers
        .iter()
        .flat_map(|i| i.jwks()["keys"].as_array().unwrap().clone())
        .collect();
    json!({ "keys": keys })
}

/// The same document with every `kid` removed.
fn without_kids(mut doc: Value) -> Value {
    for key in doc["keys"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("kid");
    }
    doc
}

fn validator(remote: &RemoteJwks) -> Validator {
    Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .jwks(remote.clone())
        .build()
        .unwrap()
}

fn kid(issuer: &TestIssuer) -> &str {
    issuer.signing_key().kid()
}

fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": "test-user", "client_id": "test-client",
        "iat": now, "exp": now + 900, "jti": format!("jti-{now}"),
    })
}

/// A valid-looking token signed by `issuer`'s key, with this header `kid` (or none).
fn token_with_kid(issuer: &TestIssuer, kid: Option<&str>) -> String {
    let alg = issuer.signing_key().algorithm().as_str();
    let header = match kid {
        Some(kid) => json!({"alg": alg, "typ": "at+jwt", "kid": kid}),
        None => json!({"alg": alg, "typ": "at+jwt"}),
    };
    issuer
        .signing_key()
        .sign_raw(
            header.to_string().as_bytes(),
            claims().to_string().as_bytes(),
        )
        .unwrap()
}

fn es256() -> TestIssuer {
    TestIssuer::new(Algorithm::ES256)
}

/// Polls `done` every 20 ms until it holds or `limit` passes; returns the time it took.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done().then(|| start.elapsed())
}

// ---------------------------------------------------------------------------------------
// Cold cache and single-flight.

#[tokio::test]
async fn first_token_on_a_cold_cache_triggers_exactly_one_fetch() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    let remote = server.remote(Duration::from_secs(30));
    let validator = validator(&remote);
    assert_eq!(server.fetches(), 0, "building fetches nothing");
    assert!(remote.cached().is_none());

    let claims = validator
        .validate(&issuer.token().sub("alice").sign())
        .await
        .unwrap();
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert_eq!(server.fetches(), 1);

    // Further tokens are served from the cache; the background task, now running, does
    // not fetch again before the refresh interval (5 min by default).
    for _ in 0..20 {
        validator.validate(&issuer.token().sign()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.fetches(), 1);
    assert_eq!(remote.fetch_count(), 1);
    assert!(remote.cached().unwrap().contains_kid(kid(&issuer)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_validations_on_a_cold_cache_cause_one_fetch() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    // A slow endpoint, so that all 200 requests arrive while the fetch is in flight.
    server.mode(Mode::Delay(Duration::from_millis(200)));
    let remote = server.remote(Duration::from_secs(30));
    let validator = validator(&remote);

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let validator = validator.clone();
            let token = issuer.token().sub(&format!("user-{i}")).sign();
            tokio::spawn(async move { validator.validate(&token).await })
        })
        .collect();
    for (i, task) in join_all(tasks).await.into_iter().enumerate() {
        let claims = task.unwrap().unwrap();
        assert_eq!(claims.sub, Some(format!("user-{i}")));
    }
    assert_eq!(
        server.fetches(),
        1,
        "single-flight: one fetch for 200 waiters"
    );
    assert_eq!(remote.fetch_count(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.fetches(),
        1,
        "the background task joined that fetch instead of repeating it"
    );
}

// ---------------------------------------------------------------------------------------
// Rotation and the unknown-kid cooldown.

#[tokio::test]
async fn rotation_is_picked_up_on_an_unknown_kid() {
    let cooldown = Duration::from_millis(150);
    let (old, new) = (es256(), es256());
    let server = JwksServer::start(doc(&[&old])).await;
    let remote = server.remote(cooldown);
    let validator = validator(&remote);

    validator.validate(&old.token().sign()).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // The issuer publishes the new key next to the old one and starts signing with it.
    server.serve(doc(&[&old, &new]));
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    validator.validate(&new.token().sign()).await.unwrap();
    assert_eq!(server.fetches(), 2, "one extra fetch for the new kid");
    validator.validate(&old.token().sign()).await.unwrap();
    validator.validate(&new.token().sign()).await.unwrap();
    assert_eq!(server.fetches(), 2, "both kids are cached now");

    // The old key is retired: once the set is refetched, its tokens are refused.
    server.serve(doc(&[&new]));
    remote.refresh().await.unwrap();
    assert_eq!(
        validator.validate(&old.token().sign()).await,
        Err(TokenError::UnknownKey)
    );
    validator.validate(&new.token().sign()).await.unwrap();
    assert!(!remote.cached().unwrap().contains_kid(kid(&old)));
}

/// Issue 14 part 2: an issuer that republishes a `kid` with new key material (a botched
/// rotation, a key replaced after a compromise) stops the old key's tokens as soon as the
/// set is refetched, cached or not: full validation refuses them, so a hit must too.
#[tokio::test]
async fn a_kid_republished_with_new_key_material_stops_the_old_keys_cached_tokens() {
    let old = es256();
    let rekeyed = rampart::signing::SigningKey::from_secret(
        Algorithm::ES256,
        rampart::signing::SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .secret_bytes()
            .to_vec(),
        Some(kid(&old).to_owned()),
    )
    .unwrap();
    let new = TestIssuer::from_key(rekeyed);
    assert_eq!(kid(&old), kid(&new), "the same kid, other bytes");
    let server = JwksServer::start(doc(&[&old])).await;
    let remote = server.remote(Duration::from_secs(30));
    let hits = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&hits);
    let validator = Validator::builder()
        .issuer(TEST_ISSUER)
        .audience(TEST_AUDIENCE)
        .jwks(remote.clone())
        .observe(move |outcome| {
            if outcome == "cache_hit" {
                count.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let token = old.token().sign();
    validator.validate(&token).await.unwrap();
    validator.validate(&token).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the token is cached");

    server.serve(doc(&[&new]));
    assert_eq!(remote.refresh().await.unwrap(), 1);
    assert_eq!(
        validator.validate(&token).await,
        Err(TokenError::InvalidSignature)
    );
    validator.validate(&new.token().sign()).await.unwrap();
    // A refetch that changes nothing keeps the cache.
    let fresh = new.token().sign();
    validator.validate(&fresh).await.unwrap();
    remote.refresh().await.unwrap();
    let before = hits.load(Ordering::SeqCst);
    validator.validate(&fresh).await.unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 1,
        "an unchanged set keeps the cache"
    );
}

#[tokio::test]
async fn the_cooldown_holds_under_a_flood_of_random_kids() {
    let cooldown = Duration::from_millis(500);
    let (issuer, attacker) = (es256(), es256());
    let server = JwksServer::start(doc(&[&issuer])).await;
    let remote = server.remote(cooldown);
    let validator = validator(&remote);
    let flood = |n: usize, tag: &str| -> Vec<String> {
        (0..n)
            .map(|i| token_with_kid(&attacker, Some(&format!("{tag}-{i}-random"))))
            .collect()
    };
    let (first, second) = (flood(1000, "a"), flood(1000, "b"));

    validator.validate(&issuer.token().sign()).await.unwrap();
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;

    // 1,000 concurrent tokens with unknown kids, signed by an unknown key.
    let started = Instant::now();
    let results = join_all(first.iter().map(|t| validator.validate(t))).await;
    // Then 1,000 more, one after the other.
    for token in &second {
        assert_eq!(validator.validate(token).await, Err(TokenError::UnknownKey));
    }
    let elapsed = started.elapsed();
    assert!(results.iter().all(|r| *r == Err(TokenError::UnknownKey)));
    let extra = server.fetches() - 1;
    assert!(
        extra >= 1,
        "the cooldown had passed, so the first unknown kid may fetch"
    );
    if elapsed < cooldown {
        assert_eq!(extra, 1, "at most one fetch per cooldown");
    } else {
        // A very slow machine: still at most one fetch per cooldown period.
        let periods = (elapsed.as_millis() / cooldown.as_millis()) as usize + 1;
        assert!(extra <= periods, "{extra} fetches in {elapsed:?}");
    }
    // The real issuer's tokens were never disturbed.
    validator.validate(&issuer.token().sign()).await.unwrap();

    // After the cooldown, one more fetch is allowed, and only one.
    let before = server.fetches();
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    let third = flood(50, "c");
    let started = Instant::now();
    for token in &third {
        assert_eq!(validator.validate(token).await, Err(TokenError::UnknownKey));
    }
    if started.elapsed() < cooldown {
        assert_eq!(server.fetches(), before + 1);
    }
    assert_eq!(remote.fetch_count(), server.fetches() as u64);
}

// ---------------------------------------------------------------------------------------
// Timeouts and stale-on-error.

#[tokio::test]
async fn a_timeout_with_no_cache_answers_keys_unavailable_quickly() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    server.mode(Mode::Delay(Duration::from_secs(10)));
    let timeout = Duration::from_millis(300);
    let remote = RemoteJwks::builder(&server.url)
        .timeout(timeout)
        .build()
        .unwrap();
    let validator = validator(&remote);

    let started = Instant::now();
    let result = validator.validate(&issuer.token().sign()).await;
    let elapsed = started.elapsed();
    assert_eq!(result, Err(TokenError::KeysUnavailable));
    assert!(result.unwrap_err().is_unavailable());
    assert!(
        elapsed < timeout + Duration::from_millis(700),
        "took {elapsed:?}"
    );
    assert_eq!(server.fetches(), 1);

    // Within the cooldown, the next request does not wait for another slow fetch.
    let started = Instant::now();
    assert_eq!(
        validator.validate(&issuer.token().sign()).await,
        Err(TokenError::KeysUnavailable)
    );
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(remote.cached().is_none());
}

#[tokio::test]
async fn a_timeout_with_a_warm_cache_keeps_serving_the_old_keys() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    let timeout = Duration::from_millis(300);
    let remote = RemoteJwks::builder(&server.url)
        .timeout(timeout)
        .cooldown(Duration::ZERO)
        .build()
        .unwrap();
    let validator = validator(&remote);
    validator.validate(&issuer.token().sign()).await.unwrap();

    server.mode(Mode::Delay(Duration::from_secs(10)));
    let started = Instant::now();
    let refreshed = remote.refresh().await;
    assert!(
        matches!(refreshed, Err(JwksError::Transport(_))),
        "{refreshed:?}"
    );
    assert!(started.elapsed() < timeout + Duration::from_millis(700));
    validator.validate(&issuer.token().sign()).await.unwrap();

    // An unknown kid while the endpoint hangs: the refetch times out, the token is
    // refused as unknown (401), not as "keys unavailable" (503).
    let stranger = es256();
    let started = Instant::now();
    assert_eq!(
        validator.validate(&stranger.token().sign()).await,
        Err(TokenError::UnknownKey)
    );
    assert!(started.elapsed() < timeout + Duration::from_millis(700));
    validator.validate(&issuer.token().sign()).await.unwrap();
}

#[tokio::test]
async fn a_failing_endpoint_keeps_the_cached_keys() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    let remote = server.remote(Duration::ZERO);
    let validator = validator(&remote);
    assert_eq!(remote.refresh().await.unwrap(), 1);

    let failures = [
        (Mode::Status(500), "HTTP 500"),
        (Mode::Status(404), "HTTP 404"),
        (Mode::Raw("this is not JSON".into()), "invalid JSON"),
        (Mode::Raw(r#"{"kes": []}"#.into()), "not a key set"),
        (Mode::Raw(r#"{"keys": []}"#.into()), "an empty key set"),
        (
            Mode::Raw(r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#.into()),
            "no usable key",
        ),
    ];
    for (mode, what) in failures {
        server.mode(mode);
        let refreshed = remote.refresh().await;
        assert!(refreshed.is_err(), "{what}: {refreshed:?}");
        validator
            .validate(&issuer.token().sign())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(remote.cached().unwrap().len(), 1, "{what}");
    }
    server.mode(Mode::Status(503));
    assert!(matches!(
        remote.refresh().await,
        Err(JwksError::Status(503))
    ));
    server.mode(Mode::Raw(r#"{"keys": []}"#.into()));
    assert!(matches!(
        remote.refresh().await,
        Err(JwksError::Invalid(KeyError::Empty))
    ));

    // Back to normal: the next refresh succeeds again.
    server.mode(Mode::Serve);
    assert_eq!(remote.refresh().await.unwrap(), 1);
}

#[tokio::test]
async fn a_failing_endpoint_with_nothing_cached_answers_keys_unavailable() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    server.mode(Mode::Status(500));
    let remote = server.remote(Duration::from_secs(30));
    let validator = validator(&remote);
    assert_eq!(
        validator.validate(&issuer.token().sign()).await,
        Err(TokenError::KeysUnavailable)
    );
    assert!(matches!(
        remote.refresh().await,
        Err(JwksError::Status(500))
    ));

    // The endpoint recovers: an explicit refresh (a readiness check) ignores the cooldown.
    server.mode(Mode::Serve);
    assert_eq!(remote.refresh().await.unwrap(), 1);
    validator.validate(&issuer.token().sign()).await.unwrap();
}

#[tokio::test]
async fn an_oversized_document_is_refused_and_the_old_keys_kept() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    let remote = RemoteJwks::builder(&server.url)
        .max_body(4096)
        .build()
        .unwrap();
    let validator = validator(&remote);
    validator.validate(&issuer.token().sign()).await.unwrap();

    let replacement = es256();
    let mut big = doc(&[&replacement]);
    big["padding"] = json!("x".repeat(8192));
    // With a Content-Length, and streamed without one.
    for mode in [Mode::Serve, Mode::Chunked(big.to_string())] {
        server.serve(big.clone());
        server.mode(mode.clone());
        let refreshed = remote.refresh().await;
        assert!(
            matches!(refreshed, Err(JwksError::TooLarge)),
            "{mode:?}: {refreshed:?}"
        );
        validator.validate(&issuer.token().sign()).await.unwrap();
        assert!(!remote.cached().unwrap().contains_kid(kid(&replacement)));
    }

    // The same document under the limit is accepted (the padding is ignored).
    big["padding"] = json!("x");
    server.serve(big);
    server.mode(Mode::Serve);
    assert_eq!(remote.refresh().await.unwrap(), 1);
    validator
        .validate(&replacement.token().sign())
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Background refresh.

#[tokio::test]
async fn the_background_refresh_honours_max_age() {
    let (old, new) = (es256(), es256());
    let server = JwksServer::start(doc(&[&old])).await;
    server.cache_control("public, max-age=1");
    let remote = RemoteJwks::builder(&server.url)
        .refresh_bounds(Duration::from_secs(1), Duration::from_secs(10))
        .build()
        .unwrap();
    let validator = validator(&remote);
    validator.validate(&old.token().sign()).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // No token with an unknown kid: only the background task can notice the change.
    server.serve(doc(&[&new]));
    let took = wait_until(Duration::from_secs(4), || {
        remote
            .cached()
            .is_some_and(|keys| keys.contains_kid(kid(&new)))
    })
    .await
    .expect("the new key set was fetched in the background");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(server.fetches() >= 2);
    validator.validate(&new.token().sign()).await.unwrap();
}

#[tokio::test]
async fn a_max_age_above_the_max_bound_is_clamped() {
    let (old, new) = (es256(), es256());
    let server = JwksServer::start(doc(&[&old])).await;
    server.cache_control("max-age=86400");
    let remote = RemoteJwks::builder(&server.url)
        .refresh_bounds(Duration::from_secs(1), Duration::from_secs(1))
        .build()
        .unwrap();
    let validator = validator(&remote);
    validator.validate(&old.token().sign()).await.unwrap();

    server.serve(doc(&[&new]));
    let took = wait_until(Duration::from_secs(4), || {
        remote
            .cached()
            .is_some_and(|keys| keys.contains_kid(kid(&new)))
    })
    .await
    .expect("refreshed after max_refresh (1 s), not after max-age (1 day)");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn dropping_the_last_clone_stops_the_background_task() {
    let issuer = es256();
    let server = JwksServer::start(doc(&[&issuer])).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks(); // the server's accept loop
    server.cache_control("max-age=1");
    let remote = RemoteJwks::builder(&server.url)
        .refresh_bounds(Duration::from_secs(1), Duration::from_secs(10))
        .build()
        .unwrap();
    let validator = validator(&remote);
    validator.validate(&issuer.token().sign()).await.unwrap();
    wait_until(Duration::from_secs(3), || server.fetches() >= 2)
        .await
        .expect("the background task refreshes every second");
    // From the next fetch on, the task sleeps 10 s between refreshes.
    server.cache_control("max-age=10");
    wait_until(Duration::from_secs(3), || server.fetches() >= 3)
        .await
        .unwrap();

    let validator_clone = validator.clone();
    drop(validator);
    drop(remote);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        metrics.num_alive_tasks() > baseline,
        "a clone is still alive, and so is the task"
    );

    drop(validator_clone);
    // The sleeping task wakes up and exits right away (it does not wait out its 10 s), and
    // the client's connection closes with it.
    wait_until(Duration::from_secs(1), || {
        metrics.num_alive_tasks() == baseline
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{} tasks still alive, {baseline} expected",
            metrics.num_alive_tasks()
        )
    });
    let after_drop = server.fetches();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        server.fetches(),
        after_drop,
        "no refresh after the last clone was dropped"
    );
}

#[test]
fn a_fetch_cut_off_by_its_runtime_shutting_down_is_not_joined_forever() {
    // The server lives in its own runtime; the client is used from two others in turn,
    // as with a validator in a `static` shared by several `#[tokio::test]`s.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let issuer = es256();
    let server = server_runtime.block_on(JwksServer::start(doc(&[&issuer])));
    server.mode(Mode::Delay(Duration::from_millis(300)));
    let remote = RemoteJwks::builder(&server.url).build().unwrap();
    let validator = validator(&remote);

    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cut_off = first.block_on(async {
        tokio::time::timeout(Duration::from_millis(50), remote.refresh()).await
    });
    assert!(cut_off.is_err(), "the fetch was still in flight");
    drop(first); // drops the fetch task and the background task with it

    server.mode(Mode::Serve);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        assert_eq!(remote.refresh().await.unwrap(), 1);
        validator.validate(&issuer.token().sign()).await.unwrap();
    });
    assert_eq!(remote.fetch_count(), 2);
}

// ---------------------------------------------------------------------------------------
// Keys without a kid.

#[tokio::test]
async fn keys_without_kid_work_when_unambiguous() {
    let issuer = es256();
    let server = JwksServer::start(without_kids(doc(&[&issuer]))).await;
    let remote = server.remote(Duration::from_secs(30));
    let validator = validator(&remote);
    validator
        .validate(&token_with_kid(&issuer, None))
        .await
        .unwrap();

    // Two keys of different algorithms: the token's `alg` picks the only fitting one.
    let ed = TestIssuer::new(Algorithm::EdDSA);
    server.serve(without_kids(doc(&[&issuer, &ed])));
    assert_eq!(remote.refresh().await.unwrap(), 2);
    validator
        .validate(&token_with_kid(&issuer, None))
        .await
        .unwrap();
    validator
        .validate(&token_with_kid(&ed, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_token_without_kid_is_refused_when_two_keys_fit() {
    let (a, b) = (es256(), es256());
    let server = JwksServer::start(doc(&[&a, &b])).await;
    let remote = server.remote(Duration::from_secs(30));
    let validator = validator(&remote);
    assert_eq!(
        validator.validate(&token_with_kid(&a, None)).await,
        Err(TokenError::UnknownKey)
    );
    // With their kids, both validate.
    validator.validate(&a.token().sign()).await.unwrap();
    validator.validate(&b.token().sign()).await.unwrap();

    server.serve(without_kids(doc(&[&a, &b])));
    remote.refresh().await.unwrap();
    assert_eq!(
        validator.validate(&token_with_kid(&b, None)).await,
        Err(TokenError::UnknownKey)
    );
}

// ---------------------------------------------------------------------------------------
// Configuration.

#[test]
fn plain_http_is_refused_unless_loopback_or_explicitly_allowed() {
    let refused = RemoteJwks::builder("http://auth.example.com/jwks.json").build();
    assert!(matches!(refused, Err(JwksError::Config(_))));
    assert!(
        RemoteJwks::builder("http://10.0.0.1/jwks.json")
            .build()
            .is_err()
    );
    assert!(
        RemoteJwks::builder("ftp://auth.example.com/jwks.json")
            .build()
            .is_err()
    );
    assert!(RemoteJwks::builder("not a url").build().is_err());

    RemoteJwks::builder("http://auth.example.com/jwks.json")
        .insecure_allow_http()
        .build()
        .unwrap();
    RemoteJwks::builder("https://auth.example.com/jwks.json")
        .build()
        .unwrap();
    for loopback in [
        "http://127.0.0.1:8080/jwks.json",
        "http://localhost/jwks.json",
        "http://[::1]:9/jwks.json",
    ] {
        RemoteJwks::builder(loopback)
            .build()
            .unwrap_or_else(|e| panic!("{loopback}: {e}"));
    }
}

#[test]
fn outside_a_tokio_runtime_nothing_panics() {
    let issuer = es256();
    let remote = RemoteJwks::builder("http://127.0.0.1:9/jwks.json")
        .build()
        .unwrap();
    let validator = validator(&remote);
    let token = issuer.token().sign();
    assert_eq!(
        poll_once(validator.validate(&token)),
        Poll::Ready(Err(TokenError::KeysUnavailable))
    );
    assert!(matches!(
        poll_once(remote.refresh()),
        Poll::Ready(Err(JwksError::NoRuntime))
    ));
    assert_eq!(remote.fetch_count(), 0);
}

fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = std::pin::pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}
