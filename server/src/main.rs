//! `pushd` with no arguments serves on 127.0.0.1:8070 with the embedded
//! store in `./pushd-data`; see `pushd --help` for every setting.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = match pushd::Settings::load(pushd::Cli::parse()) {
        Ok(settings) => settings,
        Err(problem) => {
            eprintln!("pushd: {problem}");
            return std::process::ExitCode::from(2);
        }
    };
    pushd::telemetry::init_logging(&settings.log, settings.log_format);
    match pushd::run(settings, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("pushd failed: {}", error.report());
            std::process::ExitCode::FAILURE
        }
    }
}

/// SIGTERM (service managers, containers) or Ctrl-C.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops pushd");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
