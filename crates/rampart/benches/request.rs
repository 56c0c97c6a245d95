//! What a protected route costs on top of an unprotected one, per request, in process.
//!
//! One axum router with `GET /public` (no extractor) and `GET /notes` (`Scoped<NotesRead>`,
//! the extractor most applications use), both answering the same static body. Each
//! iteration builds a request and sends it through `Router::oneshot`, so the figure is
//! the router plus the extractor, without sockets, HTTP parsing or a load generator
//! sharing the cores (those add the same cost to both routes; `bench/load.sh` measures
//! them). The `/notes` token is a verified-token cache hit after the first request, which
//! is what a busy API sees; `notes_uncached` turns the cache off to show the full
//! validation per request.
//!
//! Run with `cargo bench -p rampart --bench request`; `bench/criterion.sh` prints the
//! ratios.

use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use rampart::testing::TestIssuer;
use rampart::{Algorithm, Scoped, Validator};
use tower::ServiceExt as _;

rampart::scopes!(NotesRead = "notes:read");

fn router(validator: Validator) -> Router {
    Router::new()
        .route("/public", get(|| async { "[]" }))
        .route("/notes", get(|_token: Scoped<NotesRead>| async { "[]" }))
        .with_state(validator)
}

fn request(path: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri(path);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::empty()).expect("a valid request")
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    for alg in [Algorithm::HS256, Algorithm::ES256] {
        let issuer = TestIssuer::new(alg);
        let token = issuer
            .token()
            .sub("alice")
            .scope("notes:read notes:write")
            .roles(&["admin"])
            .sign();
        let authorization = format!("Bearer {token}");
        let cached = router(issuer.validator());
        let uncached = router(
            issuer
                .validator_builder()
                .no_cache()
                .build()
                .expect("a test issuer yields a valid validator"),
        );
        // Every bench must measure a success, not a fast refusal.
        for (app, path, auth) in [
            (&cached, "/public", None),
            (&cached, "/notes", Some(authorization.as_str())),
            (&uncached, "/notes", Some(authorization.as_str())),
        ] {
            let response = runtime
                .block_on(app.clone().oneshot(request(path, auth)))
                .expect("infallible");
            assert_eq!(response.status(), StatusCode::OK, "{alg} {path}");
        }

        let mut group = c.benchmark_group(format!("request/{}", alg.as_str()));
        group.bench_function("public", |b| {
            b.to_async(&runtime)
                .iter(|| cached.clone().oneshot(black_box(request("/public", None))));
        });
        group.bench_function("public_with_header", |b| {
            b.to_async(&runtime).iter(|| {
                cached
                    .clone()
                    .oneshot(black_box(request("/public", Some(&authorization))))
            });
        });
        group.bench_function("notes_cached", |b| {
            b.to_async(&runtime).iter(|| {
                cached
                    .clone()
                    .oneshot(black_box(request("/notes", Some(&authorization))))
            });
        });
        group.bench_function("notes_uncached", |b| {
            b.to_async(&runtime).iter(|| {
                uncached
                    .clone()
                    .oneshot(black_box(request("/notes", Some(&authorization))))
            });
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .nresamples(20_000)
}

criterion_group! {
    name = benches;
    config = config();
    targets = requests
}
criterion_main!(benches);
