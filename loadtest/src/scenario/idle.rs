//! `loadtest idle`: N devices registered, then each opens its own connection and stream and
//! sits idle. Server RSS is sampled after registration (devices known, none connected) and
//! again once every stream is live and the server has settled; the difference divided by N
//! is the memory one idle connected device costs.
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::{SETUP_TIMEOUT, slowest};
use crate::cli::IdleArgs;
use crate::fleet::{self, Fleet};
use crate::procfs::CpuUsage;
use crate::protocol::Command;
use crate::server::ServerUnderTest;
use crate::summary::Summary;

/// Devices per worker by default: well inside the 20,000 open files a process may hold.
const DEVICES_PER_WORKER: usize = 9_000;
/// Time for the allocator and the kernel to finish reacting to the registrations.
const REGISTERED_SETTLE: Duration = Duration::from_secs(1);

pub async fn run(args: IdleArgs) -> anyhow::Result<()> {
    let mut server = ServerUnderTest::resolve(&args.target).await?;
    if server.pids.is_empty() {
        bail!("idle measures server memory: give --server-pid, or start it with --pushd");
    }
    let workers = args
        .workers
        .unwrap_or_else(|| args.devices.div_ceil(DEVICES_PER_WORKER))
        .max(1);
    let plans = fleet::plan(&server.url, &args.target, args.devices, workers, None)?;
    let mut fleet = Fleet::start(plans).await?;
    let registered = fleet.next_events(SETUP_TIMEOUT).await?;
    tokio::time::sleep(REGISTERED_SETTLE).await;
    let before = server.sample()?.context("no server pid")?;

    fleet.tell(Command::Connect).await?;
    let connected = fleet.next_events(SETUP_TIMEOUT).await?;
    server.check_alive()?;
    let live = server.sample()?.context("no server pid")?;
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let after = server.sample()?.context("no server pid")?;
    server.check_alive()?;
    fleet.stop().await?;

    let mut summary = Summary::new("idle");
    summary.add("server", server.url.clone());
    summary.add("server_pids", server.pids.clone());
    summary.add("devices_over", args.target.devices_over.name());
    summary.add("devices", args.devices);
    summary.add("workers", workers);
    summary.add("register_ms", slowest(&registered));
    summary.add("connect_ms", slowest(&connected));
    summary.add_f64("server_rss_registered_mib", mib(before.rss_kib), 1);
    summary.add_f64("server_rss_connected_mib", mib(after.rss_kib), 1);
    let per_device = (after.rss_kib as f64 - before.rss_kib as f64) / args.devices.max(1) as f64;
    summary.add_f64("server_rss_per_device_kb", per_device * 1.024, 2);
    summary.add_f64("server_rss_per_device_kib", per_device, 2);
    summary.add_cpu("server_idle", &CpuUsage::between(&live, &after));
    summary.print(args.target.json);
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
