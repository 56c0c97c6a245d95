//! The store and the parts over it that the server and the CLI verbs share: the store
//! named by the configuration, the account rules, password hashing and the signing keys.

use std::sync::Arc;

use anyhow::Context as _;

use crate::accounts::{self, Accounts, Passwords};
use crate::config::Config;
use crate::keys::{KeySettings, Keys, Sealer};
use crate::store::{PostgresSettings, PostgresStore, SqliteStore, Store};

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
pub(super) async fn core_on(
    store: Arc<dyn Store>,
    config: &Config,
) -> anyhow::Result<(Accounts, Keys)> {
    let hash_cpu_budget = accounts::CpuBudget::new(config.hash_cpu_budget, config.hash_pool_size)?;
    let passwords = Passwords::new(
        config.password_hash,
        config.hash_pool_size,
        config.hash_queue_size,
        hash_cpu_budget,
    )
    .context("password hashing parameters")?;
    let access = accounts::Access::new(
        Arc::clone(&store),
        config.clock.clone(),
        config.access_token_ttl,
    );
    let accounts = Accounts::new(Arc::clone(&store), passwords, config.clock.clone(), access);
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
