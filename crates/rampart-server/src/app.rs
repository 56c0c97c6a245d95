//! `Application::build(config)`: opens the store, loads keys, binds the listeners.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::Method;
use http::StatusCode;
use http::{HeaderValue, header};
use rampart::Validator;
use rampart::https::{
    ClientIpLayer, Hsts, Origin, RequireHttpsLayer, SecurityHeadersLayer, TrustedProxies,
    https_redirect_router,
};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::throttle::{LoginRate, Throttle, ThrottlePolicy};
use crate::accounts::{Accounts, Passwords};
use crate::audit::Audit;
use crate::config::{Config, TlsMode};
use crate::keys::{KeySettings, Keys, Sealer};
use crate::state::{AnyAudience, AppState, Denylist, TokenSettings};
use crate::store::{PostgresSettings, PostgresStore, SqliteStore, Store};
use crate::tls::{CertFiles, Tls};
use crate::{accounts, admin, bootstrap, oauth};

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    state: AppState,
    maintenance: tokio::task::JoinHandle<()>,
    tls: Option<Arc<Tls>>,
    redirect: Option<(TcpListener, Router)>,
    /// `None` with `--metrics-addr off`.
    metrics: Option<(TcpListener, Router)>,
    dev_cert: Option<PathBuf>,
}

/// Opens the store named by the configuration (by URL scheme) and runs migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &config.database_url;
    let opening = || format!("opening {}", crate::config::redact_url(url));
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    let store: Arc<dyn Store> = match scheme {
        "sqlite" => {
            create_private_dir(&config.data_dir)?;
            let store = SqliteStore::connect(url, config.db_max_connections)
                .await
                .with_context(opening)?;
            Arc::new(store)
        }
        "postgres" | "postgresql" => {
            if config.master_key.is_none() {
                // The generated master key lives there (one instance only: several
                // instances must share RAMPART_MASTER_KEY to open each other's keys).
                create_private_dir(&config.data_dir)?;
            }
            let settings = PostgresSettings {
                max_connections: config.db_max_connections,
                acquire_timeout: config.db_acquire_timeout,
                statement_timeout: config.db_statement_timeout,
            };
            Arc::new(
                PostgresStore::connect(url, settings)
                    .await
                    .with_context(opening)?,
            )
        }
        _ => anyhow::bail!("unsupported database URL (expected sqlite://… or postgres://…)"),
    };
    store.migrate().await.context("running migrations")?;
    Ok(store)
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("securing {}", dir.display()))?;
    }
    Ok(())
}

/// Store, hashing, keys: everything the HTTP handlers and the CLI share.
pub async fn core(config: &Config) -> anyhow::Result<(Accounts, Keys)> {
    core_on(open_store(config).await?, config).await
}

/// [`core`] over an open store.
async fn core_on(store: Arc<dyn Store>, config: &Config) -> anyhow::Result<(Accounts, Keys)> {
    let hash_cpu_budget = accounts::CpuBudget::new(config.hash_cpu_budget, config.hash_pool_size)?;
    let passwords = Passwords::new(
        config.password_hash,
        config.hash_pool_size,
        config.hash_queue_size,
        hash_cpu_budget,
    )
    .context("password hashing parameters")?;
    let accounts = Accounts {
        access: accounts::Access::new(
            Arc::clone(&store),
            config.clock.clone(),
            config.access_token_ttl,
        ),
        store: Arc::clone(&store),
        passwords,
        clock: config.clock.clone(),
    };
    let sealer = Sealer::load(config.master_key.as_ref(), &config.data_dir)
        .context("loading the master key")?;
    let keys = Keys::load(
        store,
        sealer,
        config.clock.clone(),
        KeySettings {
            algorithm: config.signing_alg,
            rotation_delay: config.key_rotation_delay,
            access_token_ttl: config.access_token_ttl,
        },
    )
    .await
    .context("loading signing keys")?;
    Ok((accounts, keys))
}

impl Application {
    /// Builds everything and binds the listener (use port 0 in tests).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Listeners first: a taken port fails before anything is created, and the
        // one-time administrator password below is printed only once they are ours.
        let bound = Bound::bind(&config).await?;
        let served = bound.listener.local_addr().ok();
        if let Some(warning) = served
            .and_then(|addr| crate::config::dev_port_mismatch(config.dev, &config.public_url, addr))
        {
            tracing::warn!("{warning}");
        }
        let store = open_store(&config).await?;
        // Instances starting together on one empty database take turns, so exactly one
        // creates the first signing key, the first-party client and the administrator.
        let startup = store
            .startup_lock()
            .await
            .context("waiting for other instances to finish starting")?;
        let (accounts, keys) = core_on(store, &config).await?;
        let accounts_store = Arc::clone(&accounts.store);
        bootstrap::first_party_client(&accounts, config.first_party_client)
            .await
            .context("creating the first-party client")?;
        if let Some(password) =
            bootstrap::admin(&accounts, config.bootstrap_admin_password.as_ref())
                .await
                .context("creating the bootstrap administrator")?
        {
            bootstrap::announce(&password);
        }
        drop(startup);
        let denylist = Arc::new(Denylist::default());
        denylist
            .reload(accounts.store.as_ref(), accounts.clock.now())
            .await
            .context("loading the revocation list")?;
        accounts
            .access
            .reload()
            .await
            .context("loading revoked sessions")?;

        let issuer = config.public_url.clone();
        let clock = config.clock.clone();
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let access = accounts.access.clone();
        let base = || {
            let clock = clock.clone();
            let observed = Arc::clone(&metrics);
            Validator::builder()
                .observe(move |outcome| observed.validation(outcome))
                .issuer(&issuer)
                .key_set_handle(keys.handle())
                .revocation_list(Arc::clone(&denylist) as Arc<dyn rampart::token::RevocationList>)
                .realm("rampart")
                .clock(move || clock.now())
        };
        // Sessions, users and their roles as they are now, not as they were when the
        // token was signed.
        let check = Arc::new(access) as Arc<dyn rampart::token::TokenCheck>;
        let validator = base()
            .audience(&issuer)
            .token_check(Arc::clone(&check))
            .build()
            .context("building the validator")?;
        let any_audience = AnyAudience {
            checked: base()
                .insecure_skip_aud()
                .token_check(check)
                .build()
                .context("building the validator")?,
            signed: base()
                .insecure_skip_aud()
                .build()
                .context("building the validator")?,
        };
        let ttl = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let state = AppState {
            accounts,
            keys,
            validator: validator.clone(),
            any_audience,
            settings: Arc::new(TokenSettings {
                issuer,
                access_ttl: ttl(config.access_token_ttl),
                refresh_ttl: ttl(config.refresh_token_ttl),
                refresh_idle_ttl: ttl(config.refresh_idle_ttl),
            }),
            denylist,
            throttle: Throttle::new(
                Arc::clone(&accounts_store),
                config.clock.clone(),
                ThrottlePolicy::default(),
            ),
            login_rate: LoginRate::new(config.login_rate_per_ip),
            audit: Audit::batched(Arc::clone(&accounts_store), config.clock.clone()),
            metrics: Arc::clone(&metrics),
        };
        let origin =
            Origin::parse(&config.public_url).map_err(|e| anyhow::anyhow!("public_url: {e}"))?;
        let trusted = TrustedProxies::new(config.trusted_proxies.iter().map(String::as_str))
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?
            .headers(config.forwarded_headers);
        let mut hsts = Hsts::default().max_age(config.hsts_max_age);
        if config.hsts_preload {
            hsts = hsts
                .preload()
                .map_err(|e| anyhow::anyhow!("hsts_preload: {e}"))?;
        }
        let mut router = Router::new()
            .merge(oauth::router())
            .merge(accounts::http::router())
            .merge(admin::router(&validator))
            .merge(crate::docs::router())
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&metrics),
                crate::metrics::track,
            ))
            .with_state(state.clone())
            .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(csrf(&config, &origin)?)
            // Inside the HTTPS check: plain-HTTP redirects must not carry HSTS (RFC 6797 §7.2).
            .layer(SecurityHeadersLayer::new(Some(hsts)));
        if config.tls_mode == TlsMode::Proxy {
            // A request that reached the proxy over plain HTTP is treated like one on our
            // own plain listener: redirect GET/HEAD, refuse the rest.
            router = router.layer(RequireHttpsLayer::new(origin.clone()));
        }
        let router = router
            .layer(ClientIpLayer::new(trusted))
            // Token and personal-data responses are never cached; the JWKS and the
            // metadata set their own public caching.
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(cors(&config.cors_origins)?)
            .layer(TraceLayer::new_for_http());
        let maintenance = spawn_maintenance(state.clone(), config.audit_retention);

        let (tls, dev_cert) = match config.tls_mode {
            TlsMode::Proxy => (None, None),
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
                        anyhow::bail!("set both --tls-cert and --tls-key")
                    }
                    (None, None, false) => anyhow::bail!(
                        "no TLS certificate configured. Either pass --tls-cert FILE --tls-key FILE \
                         (or RAMPART_TLS_CERT / RAMPART_TLS_KEY), or run with --dev for a \
                         self-signed development certificate (or use --tls-mode proxy behind a \
                         TLS-terminating proxy)"
                    ),
                };
                let tls = Tls::new(files).context("loading the TLS certificate")?;
                (Some(Arc::new(tls)), dev_cert)
            }
        };
        let Bound {
            listener,
            metrics: metrics_listener,
            redirect: plain,
        } = bound;
        let address = listener.local_addr()?;
        let metrics_router = Router::new()
            .route("/metrics", get(crate::metrics::endpoint))
            .with_state(state.clone());
        let redirect = plain.map(|plain| {
            (
                plain,
                https_redirect_router(origin).layer(TraceLayer::new_for_http()),
            )
        });
        Ok(Self {
            listener,
            address,
            router,
            state,
            maintenance,
            tls,
            redirect,
            metrics: metrics_listener.map(|listener| (listener, metrics_router)),
            dev_cert,
        })
    }

    /// The bound address of the main listener.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state (tests use it to reach the store and the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The bound address of the plain-HTTP redirect listener, if any.
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.redirect
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
    }

    /// The bound address of the metrics listener.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref()?.0.local_addr().ok()
    }

    /// The development certificate, when `--dev` generated one.
    pub fn dev_cert(&self) -> Option<&std::path::Path> {
        self.dev_cert.as_deref()
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then stops accepting and drains in-flight requests.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let watcher = match &self.tls {
            Some(tls) => tls.spawn_watcher(),
            // SIGHUP's default action kills the process; `systemctl reload` must not.
            None => tokio::spawn(ignore_sighup()),
        };
        let acceptor = self
            .tls
            .as_ref()
            .map(|t| TlsAcceptor::from(Arc::clone(&t.config)));
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        tracing::info!(address = %self.address, scheme, "serving");
        // The plain-HTTP side listeners (metrics, the HTTPS redirect), each optional.
        let plain = |side: Option<(TcpListener, Router)>, what: &'static str| {
            side.map(|(listener, router)| {
                if let Ok(address) = listener.local_addr() {
                    tracing::info!(%address, "{what}");
                }
                tokio::spawn(crate::serve::serve(
                    listener,
                    None,
                    router,
                    stopped(rx.clone()),
                ))
            })
        };
        let metrics = plain(self.metrics, "serving Prometheus metrics");
        let redirect = plain(self.redirect, "redirecting plain HTTP to HTTPS");
        tokio::spawn(async move {
            stop.await;
            let _ = tx.send(true);
        });
        crate::serve::serve(self.listener, acceptor, self.router, stopped(rx)).await;
        if let Some(redirect) = redirect {
            let _ = redirect.await;
        }
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        // The drained requests' audit events are stored before the process exits.
        self.state.audit.flush().await;
        self.maintenance.abort();
        watcher.abort();
        tracing::info!("stopped");
        Ok(())
    }
}

/// Reloads signing keys and the revocation list periodically (rotations and revocations
/// made by the CLI or another instance).
fn spawn_maintenance(state: AppState, audit_retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::keys::RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Purge at the first tick, then hourly.
        let mut last_purge = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            tick.tick().await;
            state.login_rate.forget_idle();
            if last_purge.elapsed() >= Duration::from_secs(3600) {
                last_purge = std::time::Instant::now();
                state.audit.purge(audit_retention).await;
                match state.throttle.purge().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged expired login-throttle rows"),
                    Err(e) => tracing::warn!(error = %e, "purging login-throttle rows failed"),
                }
            }
            state.metrics.key_reload();
            if let Err(e) = state.keys.reload().await {
                tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
            }
            if let Err(e) = state
                .denylist
                .reload(state.accounts.store.as_ref(), state.accounts.clock.now())
                .await
            {
                tracing::warn!(error = %e, "reloading the revocation list failed");
            }
            if let Err(e) = state.accounts.access.reload().await {
                tracing::warn!(error = %e, "reloading revoked sessions and user changes failed");
            }
        }
    })
}

/// In proxy mode there is no certificate to reload: SIGHUP is logged and ignored.
async fn ignore_sighup() {
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

async fn shutdown_signal() {
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

/// Checks everything `serve` would refuse at start-up, without binding or opening
/// anything (for `rampart config check`).
pub fn validate(config: &Config) -> anyhow::Result<()> {
    let origin =
        Origin::parse(&config.public_url).map_err(|e| anyhow::anyhow!("public_url: {e}"))?;
    TrustedProxies::new(config.trusted_proxies.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
    let _ = cors(&config.cors_origins)?;
    let _ = csrf(config, &origin)?;
    if config.hsts_preload {
        Hsts::default()
            .max_age(config.hsts_max_age)
            .preload()
            .map_err(|e| anyhow::anyhow!("hsts_preload: {e}"))?;
    }
    if let Some(key) = &config.master_key {
        // Same parser as start-up; the temporary dir is never written (a key is given).
        Sealer::load(Some(key), std::path::Path::new("/nonexistent"))
            .context("RAMPART_MASTER_KEY")?;
    }
    match (&config.tls_mode, &config.tls_cert, &config.tls_key) {
        (TlsMode::Native, Some(cert), Some(key)) => {
            crate::tls::load_certified_key(&CertFiles {
                cert: cert.clone(),
                key: key.clone(),
            })?;
        }
        (TlsMode::Native, Some(_), None) | (TlsMode::Native, None, Some(_)) => {
            anyhow::bail!("set both tls_cert and tls_key")
        }
        _ => {}
    }
    Ok(())
}

/// Largest JSON body accepted by the API.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Longest a request may take (slowloris on bodies, stuck handlers).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// CSRF: every state-changing route, trusting the public origin, the CORS origins and
/// the configured extra origins.
pub(crate) fn csrf(
    config: &Config,
    origin: &Origin,
) -> anyhow::Result<rampart::csrf::CsrfLayer<rampart::csrf::JsonRejection>> {
    let public = origin.as_str().trim_end_matches('/').to_owned();
    let origins = std::iter::once(public)
        .chain(config.cors_origins.iter().cloned())
        .chain(config.trusted_origins.iter().cloned());
    rampart::csrf::layer(origins)
        .map_err(|e| anyhow::anyhow!("trusted_origins / cors_origins: {:?}", e.reason()))
}

/// CORS from an explicit allowlist (no wildcard; bearer tokens, not cookies, so no
/// credentials mode).
pub(crate) fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let mut values = Vec::with_capacity(origins.len());
    for origin in origins {
        if origin.contains('*') {
            anyhow::bail!(
                "cors_origins: wildcards are not allowed; list each origin (got {origin:?})"
            );
        }
        let parsed = url::Url::parse(origin)
            .map_err(|e| anyhow::anyhow!("cors_origins: {origin:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            anyhow::bail!("cors_origins: {origin:?} must be scheme://host[:port] only");
        }
        let exact = origin.trim_end_matches('/');
        values.push(HeaderValue::from_str(exact).map_err(|_| {
            anyhow::anyhow!("cors_origins: {origin:?} is not a valid header value")
        })?);
    }
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(values))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600)))
}

/// The listening sockets, bound before anything else happens.
struct Bound {
    listener: TcpListener,
    metrics: Option<TcpListener>,
    redirect: Option<TcpListener>,
}

impl Bound {
    async fn bind(config: &Config) -> anyhow::Result<Self> {
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

/// Unknown routes: 404 in the API's JSON shape.
async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::NotFound("route")
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

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz",
    summary = "Liveness", tag = "health",
    responses((status = 200, description = "The process is up", body = crate::docs::schemas::Health)))]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and a signing key is active.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz",
    summary = "Readiness (store and signing key)", tag = "health",
    responses(
        (status = 200, description = "Ready", body = crate::docs::schemas::Readiness),
        (status = 503, description = "The store does not answer or no signing key is active", body = crate::docs::schemas::Readiness),
    ))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.accounts.store.ping().await.is_ok();
    let keys = state.keys.active().is_ok();
    let status = if store && keys {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(
            json!({"status": if status == StatusCode::OK { "ready" } else { "unavailable" }, "store": store, "keys": keys}),
        ),
    )
}
