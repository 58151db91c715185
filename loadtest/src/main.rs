//! `loadtest --help` lists the scenarios; each prints its figures on stdout.
use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = push_loadtest::cli::Cli::parse();
    match push_loadtest::run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadtest: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
