//! `Application::build(config)`: checks the configuration, binds the listeners, opens the
//! store, loads the keys and builds the router; `run_until` serves until told to stop.
//!
//! - [`checks`]: what the configuration must satisfy, shared with `rampart config check`;
//! - [`store`]: the store, accounts and keys (shared with the CLI verbs);
//! - `state`: the handlers' state over them;
//! - `router`: the routes and layers of the main listener;
//! - `listeners`: the sockets, the certificate, the side listeners and the signals;
//! - `maintenance`: the background reloads and purges.

pub mod checks;
mod listeners;
mod maintenance;
pub mod router;
mod state;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::accounts::bootstrap;
use crate::config::Config;
use crate::state::AppState;
use crate::tls::Tls;
use listeners::Bound;
pub use store::{core, open_store};

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

/// Checks everything `serve` would refuse in the configuration, without binding or
/// opening anything (for `rampart config check`): exactly what [`Application::build`]
/// checks first.
pub fn validate(config: &Config) -> anyhow::Result<()> {
    checks::check(config).map(drop)
}

impl Application {
    /// Builds everything and binds the listener (use port 0 in tests).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let checked = checks::check(&config)?;
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
        let (accounts, keys) = store::core_on(Arc::clone(&store), &config).await?;
        bootstrap::first_party_client(&accounts, config.first_party_client, &config.public_url)
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
        let state = state::build(&config, store, accounts, keys).await?;
        let origin = checked.origin.clone();
        let validator = state.validator.clone();
        let router = router::build(config.tls_mode, checked, state.clone(), &validator);
        let maintenance = maintenance::spawn(state.clone(), config.audit_retention);
        let (tls, dev_cert) = listeners::certificate(&config, served)?;
        let Bound {
            listener,
            metrics: metrics_listener,
            redirect: plain,
        } = bound;
        let address = listener.local_addr()?;
        let redirect = plain.map(|plain| (plain, listeners::redirect_router(origin)));
        Ok(Self {
            listener,
            address,
            router,
            metrics: metrics_listener
                .map(|listener| (listener, listeners::metrics_router(state.clone()))),
            state,
            maintenance,
            tls,
            redirect,
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
        self.run_until(listeners::shutdown_signal()).await
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
            None => tokio::spawn(listeners::ignore_sighup()),
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
