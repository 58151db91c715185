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
    // Before logging starts, so its layer is in the subscriber; dropped (and
    // flushed) when main returns.
    let traces = match settings.otlp_endpoint.as_deref() {
        Some(endpoint) => match pushd::tracing_export::Traces::start(endpoint) {
            Ok(traces) => Some(traces),
            Err(problem) => {
                eprintln!("pushd: {problem}");
                return std::process::ExitCode::from(2);
            }
        },
        None => None,
    };
    pushd::telemetry::init_logging(&settings.log, settings.log_format, traces.as_ref());
    if let Some(endpoint) = &settings.otlp_endpoint {
        tracing::info!(%endpoint, "exporting message traces over OTLP");
    }
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
