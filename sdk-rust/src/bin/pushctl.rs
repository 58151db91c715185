//! `pushctl`: parses arguments and hands them to [`push_sdk::cli`], where the logic lives.
#![forbid(unsafe_code)]

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = push_sdk::cli::Cli::parse();
    // Diagnostics go to stderr so stdout stays machine-readable; RUST_LOG overrides the level.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    match push_sdk::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the cause chain into the promised single line.
            eprintln!("pushctl: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
