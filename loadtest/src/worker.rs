//! One worker process: registers its share of devices, opens one connection per device from
//! its own source address when told to, runs the load when told to, and reports.
//!
//! Processes, not just tasks, because one process may hold at most ~20,000 open files here,
//! and because separate processes keep the client's own scheduling from serialising the
//! devices behind one runtime.
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::{Context as _, bail};
use push_proto::v1::device_client::DeviceClient;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines, Stdin};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::cli::DevicesOver;
use crate::client::{self, RegisteredDevice};
use crate::device::LiveDevice;
use crate::load;
use crate::protocol::{Command, Event, WorkerPlan};
use crate::submit::Target;
use crate::webpush;

/// Register/Subscribe calls in flight per worker during setup.
const SETUP_CONCURRENCY: usize = 64;

type Commands = Lines<BufReader<Stdin>>;

/// Reads the plan from stdin and works it; a failure is also reported as an event.
pub async fn run() -> anyhow::Result<()> {
    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    let plan_line = commands
        .next_line()
        .await?
        .context("no plan on stdin (this subcommand is started by the coordinator)")?;
    let plan: WorkerPlan = serde_json::from_str(&plan_line).context("parsing the plan")?;
    let result = work(&plan, &mut commands).await;
    if let Err(error) = &result {
        emit(&Event::Failed {
            error: format!("worker {}: {error:#}", plan.index),
        });
    }
    result
}

async fn work(plan: &WorkerPlan, commands: &mut Commands) -> anyhow::Result<()> {
    let started = Instant::now();
    let webpush = plan.devices_over == DevicesOver::Webpush;
    // Standard-only devices register over their own WebSocket when they connect.
    let devices = match webpush {
        true => Vec::new(),
        false => prepare(plan).await?,
    };
    emit(&Event::Registered {
        devices: devices.len(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    if next_command(commands).await? != Command::Connect {
        return Ok(());
    }
    let started = Instant::now();
    let (closing, closing_seen) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let (live, targets, authorization) = match webpush {
        true => {
            let connected = webpush::device::connect_all(plan, &delivered, closing_seen).await?;
            let authorization = Some(connected.authorization);
            (connected.live, connected.targets, authorization)
        }
        false => {
            let live = connect_all(plan, &devices, &delivered, closing_seen).await?;
            let targets = devices.into_iter().filter_map(|(_, target)| target);
            (live, targets.collect::<Vec<_>>(), None)
        }
    };
    emit(&Event::Connected {
        devices: live.len(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    match next_command(commands).await? {
        Command::Go => {
            let load = plan
                .load
                .as_ref()
                .context("Go sent to a worker with no load")?;
            let authorization = match authorization {
                Some(authorization) => authorization,
                None => {
                    let first = targets.first().context("no devices to send to")?;
                    client::vapid_authorization(&first.endpoint)?
                }
            };
            let report =
                load::run(plan, load, targets, authorization, delivered, closing, live).await?;
            emit(&Event::Report(Box::new(report)));
            next_command(commands).await?;
        }
        Command::Stop => {
            let _ = closing.send(true);
            for device in live {
                device.finish().await;
            }
        }
        Command::Connect => bail!("Connect sent twice"),
    }
    Ok(())
}

/// Registers the devices (and, under load, subscribes them) over one shared connection.
async fn prepare(plan: &WorkerPlan) -> anyhow::Result<Vec<(RegisteredDevice, Option<Target>)>> {
    let channel = client::connect(&plan.server_url, plan.source_ip).await?;
    let payload_bytes = plan.load.as_ref().map(|load| load.payload_bytes);
    let mut calls = JoinSet::new();
    let mut prepared = Vec::with_capacity(plan.devices);
    for _ in 0..plan.devices {
        if calls.len() >= SETUP_CONCURRENCY {
            prepared.push(joined(calls.join_next().await)?);
        }
        let client = DeviceClient::new(channel.clone());
        calls.spawn(async move {
            match payload_bytes {
                None => Ok((client::register(client).await?, None)),
                Some(bytes) => {
                    let subscribed = client::register_and_subscribe(client, bytes).await?;
                    let target = Target {
                        endpoint: subscribed.endpoint,
                        payload: subscribed.payload,
                    };
                    Ok((subscribed.device, Some(target)))
                }
            }
        });
    }
    while let Some(result) = calls.join_next().await {
        prepared.push(joined(Some(result))?);
    }
    Ok(prepared)
}

/// Opens every device's own connection and stream; `live[i]` is `devices[i]`'s.
async fn connect_all(
    plan: &WorkerPlan,
    devices: &[(RegisteredDevice, Option<Target>)],
    delivered: &Arc<AtomicU64>,
    closing: watch::Receiver<bool>,
) -> anyhow::Result<Vec<LiveDevice>> {
    let permits = Arc::new(Semaphore::new(plan.connect_concurrency));
    let mut opening = JoinSet::new();
    for (index, (device, _)) in devices.iter().enumerate() {
        let permit = permits.clone().acquire_owned().await?;
        let (device, url, source) = (device.clone(), plan.server_url.clone(), plan.source_ip);
        let over = plan.devices_over;
        let (delivered, closing) = (delivered.clone(), closing.clone());
        opening.spawn(async move {
            let _permit = permit;
            let live = if over == DevicesOver::Websocket {
                crate::websocket::connect(&url, source, &device, delivered, closing).await?
            } else {
                let channel = client::connect(&url, source).await?;
                LiveDevice::connect(channel, &device, delivered, closing).await?
            };
            Ok((index, live))
        });
    }
    joined_in_order(opening, devices.len()).await
}

/// What `count` tasks made, put back in the order of the index each returned: they finish
/// in any order, and a join by order needs device `i` beside target `i`.
pub(crate) async fn joined_in_order<T: 'static>(
    mut tasks: JoinSet<anyhow::Result<(usize, T)>>,
    count: usize,
) -> anyhow::Result<Vec<T>> {
    let mut slots: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(result) = tasks.join_next().await {
        let (index, made) = joined(Some(result))?;
        let slot = slots.get_mut(index).context("task index out of range")?;
        *slot = Some(made);
    }
    slots
        .into_iter()
        .collect::<Option<Vec<T>>>()
        .context("a task returned no result")
}

fn joined<T>(
    result: Option<Result<anyhow::Result<T>, tokio::task::JoinError>>,
) -> anyhow::Result<T> {
    result
        .context("no task to join")?
        .context("setup task failed")?
}

async fn next_command(commands: &mut Commands) -> anyhow::Result<Command> {
    match commands.next_line().await? {
        // The coordinator went away: behave as if told to stop.
        None => Ok(Command::Stop),
        Some(line) => serde_json::from_str(&line).with_context(|| format!("command {line:?}")),
    }
}

/// One event per stdout line; Rust's stdout is line-buffered, so each arrives whole.
fn emit(event: &Event) {
    match serde_json::to_string(event) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("loadtest worker: cannot encode an event: {error}"),
    }
}
