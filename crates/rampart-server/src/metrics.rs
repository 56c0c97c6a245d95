//! Prometheus metrics, served as text on their own listener (`--metrics-addr`, default
//! 127.0.0.1:9464, never the public one: request rates and login outcomes leak load).
//!
//! prometheus-client rather than the `metrics` facade: its registry is a value, so every
//! `Application` (and every test) has its own, with no process-global recorder.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    validations: Family<OutcomeLabels, Counter>,
    hash_queue: Gauge,
    hash_refusals: Family<ReasonLabels, Counter>,
    key_reloads: Counter,
    db_connections: Gauge,
    db_idle: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Request latency by route",
            latency.clone(),
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register("logins", "Password-grant logins by outcome", logins.clone());
        let validations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "token_validations",
            "Access-token validations by outcome",
            validations.clone(),
        );
        let hash_queue = Gauge::default();
        registry.register(
            "password_hash_queue_depth",
            "Password hashes waiting or running",
            hash_queue.clone(),
        );
        let hash_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "password_hash_refusals",
            "Password hashes refused at once (503) by reason: queue_full or cpu_budget",
            hash_refusals.clone(),
        );
        let key_reloads = Counter::default();
        registry.register("signing_key_reloads", "Reloads of the signing key set from the store (how rotations by the CLI or other instances are picked up)", key_reloads.clone());
        let db_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            db_connections.clone(),
        );
        let db_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            db_idle.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            logins,
            validations,
            hash_queue,
            hash_refusals,
            key_reloads,
            db_connections,
            db_idle,
        }
    }
}

impl Metrics {
    /// Counts a login outcome (`success`, `failure`, `locked`, `busy`).
    pub fn login(&self, outcome: &'static str) {
        self.logins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a token validation outcome (from the validator's observer).
    pub fn validation(&self, outcome: &'static str) {
        self.validations
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a signing-key reload.
    pub fn key_reload(&self) {
        self.key_reloads.inc();
    }

    /// Renders the Prometheus text format, sampling the gauges (and the hashing pool's
    /// own refusal counts) now.
    pub fn render(&self, hashing: HashPoolSample, db: Option<(u32, usize)>) -> String {
        self.hash_queue
            .set(i64::try_from(hashing.queue).unwrap_or(i64::MAX));
        for (reason, total) in [
            ("queue_full", hashing.refused_queue_full),
            ("cpu_budget", hashing.refused_cpu_budget),
        ] {
            // The pool counts; a max keeps the counter monotonic under concurrent scrapes.
            self.hash_refusals
                .get_or_create(&ReasonLabels { reason })
                .inner()
                .fetch_max(total, Ordering::Relaxed);
        }
        if let Some((size, idle)) = db {
            self.db_connections.set(i64::from(size));
            self.db_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The password-hashing pool as it is now: its queue, and the refusals it has counted.
#[derive(Debug, Clone, Copy)]
pub struct HashPoolSample {
    /// Attempts waiting for a hashing thread.
    pub queue: usize,
    /// Refused since start because the queue was full.
    pub refused_queue_full: u64,
    /// Refused since start because the CPU budget was spent.
    pub refused_cpu_budget: u64,
}

/// Middleware: counts every request by matched route and status, and its latency.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status,
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}
