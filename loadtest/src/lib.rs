//! `loadtest`: a load generator for pushd.
//!
//! The coordinator (the subcommand a person runs) starts or finds the server, spawns worker
//! processes of this same binary, steps them through setup → connect → load, and reads the
//! server's CPU and memory from `/proc` around the measured window.
//!
//! - [`scenario`]: one script per subcommand (`throughput`, `idle`, `drain`).
//! - [`fleet`] and [`protocol`]: the worker processes and the JSON lines they exchange.
//! - [`worker`], [`device`], [`submit`], [`submit_http`], [`load`], [`join`]: what runs
//!   inside a worker.
//! - [`webpush`]: devices, senders and the drain of a run that uses only the standard
//!   protocols, so pushd and other push services (autopush-rs) can be compared.
//! - [`server`], [`procfs`]: the server under test and what it costs.
//! - [`histogram`], [`summary`]: mergeable latency figures and the printed result.
#![forbid(unsafe_code)]

pub mod cli;
pub mod histogram;
pub mod procfs;
pub mod protocol;
pub mod scenario;
pub mod server;

mod client;
mod device;
mod fleet;
mod join;
mod load;
mod submit;
mod submit_http;
mod summary;
mod webpush;
mod websocket;
mod worker;

use cli::Command;

/// Runs one subcommand to completion.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Throughput(args) => scenario::throughput::run(args).await,
        Command::Idle(args) => scenario::idle::run(args).await,
        Command::Drain(args) => scenario::drain::run(args).await,
        Command::Worker => worker::run().await,
    }
}
