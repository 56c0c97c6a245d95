//! `resource-server`: the notes API of the `resource_server` library, configured from flags
//! and `RS_*` environment variables.

use std::process::ExitCode;

use clap::Parser as _;
use resource_server::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match resource_server::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line, like clap's own errors.
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
