//! `Application::build(config)`: opens the store, loads keys, binds the listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use rampart::Validator;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::accounts::{Accounts, Passwords};
use crate::config::Config;
use crate::keys::{KeySettings, Keys, Sealer};
use crate::state::{AnyAudience, AppState, Denylist, TokenSettings};
use crate::store::{SqliteStore, Store};
use crate::{accounts, admin, bootstrap, oauth};

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    state: AppState,
    maintenance: tokio::task::JoinHandle<()>,
}

/// Opens the store named by the configuration and runs migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if config.database_url.starts_with("sqlite:") {
        create_private_dir(&config.data_dir)?;
        let store = SqliteStore::connect(&config.database_url, config.db_max_connections)
            .await
            .with_context(|| {
                format!(
                    "opening {}",
                    crate::config::redact_url(&config.database_url)
                )
            })?;
        store.migrate().await.context("running migrations")?;
        Ok(Arc::new(store))
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://…)")
    }
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
    let store = open_store(config).await?;
    let passwords = Passwords::new(config.password_hash, config.hash_pool_size)
        .context("password hashing parameters")?;
    let accounts = Accounts {
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
        let (accounts, keys) = core(&config).await?;
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
        let denylist = Arc::new(Denylist::default());
        denylist
            .reload(accounts.store.as_ref(), accounts.clock.now())
            .await
            .context("loading the revocation list")?;

        let issuer = config.public_url.clone();
        let clock = config.clock.clone();
        let base = || {
            let clock = clock.clone();
            Validator::builder()
                .issuer(&issuer)
                .key_set_handle(keys.handle())
                .revocation_list(Arc::clone(&denylist) as Arc<dyn rampart::token::RevocationList>)
                .realm("rampart")
                .clock(move || clock.now())
        };
        let validator = base()
            .audience(&issuer)
            .build()
            .context("building the validator")?;
        let any_audience = AnyAudience(
            base()
                .insecure_skip_aud()
                .build()
                .context("building the validator")?,
        );
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
        };
        let router = Router::new()
            .merge(oauth::router())
            .merge(accounts::http::router())
            .merge(admin::router(&validator))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .layer(TraceLayer::new_for_http())
            .with_state(state.clone());
        let maintenance = spawn_maintenance(state.clone());
        let listener = TcpListener::bind(config.https_addr)
            .await
            .with_context(|| format!("binding {}", config.https_addr))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            router,
            state,
            maintenance,
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

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "serving");
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        self.maintenance.abort();
        result.context("server error")
    }
}

/// Reloads signing keys and the revocation list periodically (rotations and revocations
/// made by the CLI or another instance).
fn spawn_maintenance(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::keys::RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
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
        }
    })
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

/// `GET /healthz`: the process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and a signing key is active.
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
