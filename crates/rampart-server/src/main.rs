use std::io::IsTerminal as _;

use clap::FromArgMatches as _;
use rampart_server::cli::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::from_arg_matches(&rampart_server::cli::command().get_matches())
        .unwrap_or_else(|e| e.exit());
    // A verb prints its result on stdout; its logs are for warnings and errors only.
    let default_level = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    let filter =
        EnvFilter::try_from_env("RAMPART_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = match cli.log_format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
    match rampart_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if json {
                tracing::error!("{e:#}");
            } else {
                // One readable line: the error and its causes.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("error: {e:#}");
                }
            }
            std::process::ExitCode::FAILURE
        }
    }
}
