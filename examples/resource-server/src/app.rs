//! Start-up: build the validator, bind, prefetch keys, serve until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use axum::Router;
use rampart::RemoteJwks;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::security::security_from_config;

/// The notes API, bound to its address and ready to serve. Binding happens in
/// [`Application::build`], so tests can ask for port 0 and read the real port back.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Builds the validator from `config`, binds `config.addr`, then tries to load the
    /// JWKS once. An unreachable JWKS is only a warning: the server starts anyway and
    /// protected routes answer 503 until the keys load (the client keeps retrying in the
    /// background).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let security = security_from_config(config)?;
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        if let (Some(jwks), Some(url)) = (&security.jwks, &config.jwks_url) {
            prefetch(jwks, url).await;
        }
        Ok(Self {
            listener,
            router: crate::router(security.validator),
        })
    }

    /// The address actually bound (the real port when `config.addr` had port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn prefetch(jwks: &RemoteJwks, url: &str) {
    match jwks.refresh().await {
        Ok(keys) => tracing::info!(%url, keys, "loaded the JWKS"),
        Err(err) => tracing::warn!(
            %url,
            %err,
            "the JWKS is unreachable; starting anyway, protected routes answer 503 until its keys load"
        ),
    }
}

/// Runs the notes API with `config` until Ctrl-C (or SIGTERM on Unix).
pub async fn run(config: Config) -> anyhow::Result<()> {
    let app = Application::build(&config).await?;
    let addr = app.local_addr().context("cannot read the bound address")?;
    tracing::info!("notes API listening on http://{addr}");
    app.run_until(shutdown_signal())
        .await
        .context("the server failed")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down; finishing in-flight requests");
}
