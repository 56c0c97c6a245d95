//! The sockets and what answers on them: the main listener (HTTPS, or plain HTTP behind
//! a TLS-terminating proxy), its certificate, the optional plain-HTTP side listeners
//! (Prometheus metrics, the HTTP→HTTPS redirect), and the signals that stop and reload.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use rampart::https::{Origin, https_redirect_router};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::accounts::Accounts;
use crate::config::{Config, TlsMode};
use crate::metrics::{HashPoolSample, Metrics};
use crate::state::AppState;
use crate::tls::{CertFiles, Tls};

/// The listening sockets, bound before anything else happens.
pub(super) struct Bound {
    pub(super) listener: TcpListener,
    pub(super) metrics: Option<TcpListener>,
    pub(super) redirect: Option<TcpListener>,
}

impl Bound {
    pub(super) async fn bind(config: &Config) -> anyhow::Result<Self> {
        let what = match config.tls_mode {
            TlsMode::Native => "HTTPS",
            TlsMode::Proxy => "the API (proxy mode)",
        };
        let listener = listen(
            config.https_addr,
            what,
            "--https-addr",
            "RAMPART_HTTPS_ADDR",
        )
        .await?;
        let metrics = match config.metrics_addr {
            Some(addr) => Some(
                listen(
                    addr,
                    "Prometheus metrics",
                    "--metrics-addr (or off)",
                    "RAMPART_METRICS_ADDR",
                )
                .await?,
            ),
            None => None,
        };
        let redirect = match (config.tls_mode, config.http_addr) {
            (TlsMode::Native, Some(addr)) => Some(
                listen(
                    addr,
                    "the HTTP→HTTPS redirect",
                    "--http-addr (or off)",
                    "RAMPART_HTTP_ADDR",
                )
                .await?,
            ),
            _ => None,
        };
        Ok(Self {
            listener,
            metrics,
            redirect,
        })
    }
}

/// Binds `addr`; a failure names the setting that moves this listener.
async fn listen(
    addr: std::net::SocketAddr,
    what: &str,
    flag: &str,
    env: &str,
) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "could not listen on {addr} for {what}; choose another address with {flag} or {env}"
        )
    })
}

/// Prints the dev certificate's fingerprint and how to trust it.
#[allow(clippy::print_stderr)]
fn announce_dev_cert(cert: &std::path::Path, fingerprint: &str, public_url: &str) {
    eprintln!(
        "\n  Development certificate (self-signed, for localhost, 127.0.0.1 and ::1):\n    {}\n    SHA-256 {fingerprint}\n  Trust it for one command:\n    curl --cacert {} {}/healthz\n",
        cert.display(),
        cert.display(),
        public_url.trim_end_matches('/'),
    );
}

/// In proxy mode there is no certificate to reload: SIGHUP is logged and ignored.
pub(super) async fn ignore_sighup() {
    #[cfg(unix)]
    if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        while hup.recv().await.is_some() {
            tracing::info!(
                "SIGHUP: nothing to reload in proxy mode (TLS is terminated by the proxy)"
            );
        }
    }
    std::future::pending::<()>().await;
}

/// Completes at SIGINT or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}

/// The certificate of the main listener in native TLS mode (`None` in proxy mode), and the
/// development certificate's path when `--dev` generated one. `served`: the main
/// listener's address, for the `curl` line printed with a development certificate.
pub(super) fn certificate(
    config: &Config,
    served: Option<std::net::SocketAddr>,
) -> anyhow::Result<(Option<Arc<Tls>>, Option<PathBuf>)> {
    match config.tls_mode {
        TlsMode::Proxy => Ok((None, None)),
        TlsMode::Native => {
            let (files, dev_cert) = match (&config.tls_cert, &config.tls_key, config.dev) {
                (Some(cert), Some(key), _) => (
                    CertFiles {
                        cert: cert.clone(),
                        key: key.clone(),
                    },
                    None,
                ),
                (None, None, true) => {
                    let (files, fingerprint) = crate::tls::dev_certificate(&config.data_dir)?;
                    // The URL this process answers at (the public URL may name a proxy).
                    let local = served.map_or_else(
                        || config.public_url.clone(),
                        |addr| format!("https://localhost:{}", addr.port()),
                    );
                    announce_dev_cert(&files.cert, &fingerprint, &local);
                    let path = files.cert.clone();
                    (files, Some(path))
                }
                (Some(_), None, _) | (None, Some(_), _) => {
                    anyhow::bail!(super::checks::SET_BOTH_TLS_FILES)
                }
                (None, None, false) => anyhow::bail!(
                    "no TLS certificate configured. Either pass --tls-cert FILE --tls-key FILE \
                     (or RAMPART_TLS_CERT / RAMPART_TLS_KEY), or run with --dev for a \
                     self-signed development certificate (or use --tls-mode proxy behind a \
                     TLS-terminating proxy)"
                ),
            };
            let tls = Tls::new(files).context("loading the TLS certificate")?;
            Ok((Some(Arc::new(tls)), dev_cert))
        }
    }
}

/// `GET /metrics`, for the metrics listener.
pub(super) fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// `GET /metrics` on the metrics listener: the registry, with the hashing pool's and the
/// store's gauges read now.
async fn metrics(
    State(metrics): State<Arc<Metrics>>,
    State(accounts): State<Accounts>,
) -> impl IntoResponse {
    let refusals = accounts.passwords.refusals();
    let hashing = HashPoolSample {
        queue: accounts.passwords.queue_depth(),
        refused_queue_full: refusals.queue_full,
        refused_cpu_budget: refusals.cpu_budget,
    };
    let body = metrics.render(hashing, accounts.pool_stats());
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

/// Every plain-HTTP request answered with a redirect to `origin`, for the redirect listener.
pub(super) fn redirect_router(origin: Origin) -> Router {
    https_redirect_router(origin).layer(TraceLayer::new_for_http())
}
