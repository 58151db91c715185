//! The coordinator's side of the worker processes: plans them, starts them as children of
//! this same binary, tells them what to do next and collects what they say.
use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command as Process};

use crate::cli::{DevicesOver, TargetArgs};
use crate::protocol::{Command, Event, LoadPlan, WorkerPlan};

/// How long workers get to exit after `Stop` before they are killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Splits `devices` over `workers`, one source address each, starting at `first_source`.
pub fn plan(
    server_url: &str,
    target: &TargetArgs,
    devices: usize,
    workers: usize,
    load: Option<LoadPlan>,
) -> anyhow::Result<Vec<WorkerPlan>> {
    let first_source = target.first_source_ip;
    let server_url = match target.devices_over {
        DevicesOver::Webpush => crate::server::websocket_url(server_url),
        _ => server_url.to_owned(),
    };
    let workers = workers.clamp(1, devices.max(1));
    (0..workers)
        .map(|index| {
            let source = u32::from(first_source)
                .checked_add(index as u32)
                .map(Ipv4Addr::from)
                .filter(Ipv4Addr::is_loopback)
                .with_context(|| {
                    format!("source address {first_source} + {index} leaves 127.0.0.0/8")
                })?;
            Ok(WorkerPlan {
                index,
                server_url: server_url.clone(),
                submit_url: None,
                source_ip: IpAddr::V4(source),
                // The first `devices % workers` workers take one more.
                devices: devices / workers + usize::from(index < devices % workers),
                connect_concurrency: target.connect_concurrency.max(1),
                devices_over: target.devices_over,
                load: load.clone(),
            })
        })
        .collect()
}

struct Worker {
    index: usize,
    child: Child,
    stdin: ChildStdin,
    events: Lines<BufReader<ChildStdout>>,
}

pub struct Fleet {
    workers: Vec<Worker>,
}

impl Fleet {
    /// Starts one `loadtest worker` per plan and hands each its plan.
    pub async fn start(plans: Vec<WorkerPlan>) -> anyhow::Result<Fleet> {
        let program = std::env::current_exe().context("finding this program to start workers")?;
        let mut workers = Vec::with_capacity(plans.len());
        for plan in plans {
            let mut child = Process::new(&program)
                .arg("worker")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting worker {}", plan.index))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                bail!("worker {} has no stdin/stdout pipe", plan.index);
            };
            let mut worker = Worker {
                index: plan.index,
                child,
                stdin,
                events: BufReader::new(stdout).lines(),
            };
            worker.send(&serde_json::to_string(&plan)?).await?;
            workers.push(worker);
        }
        Ok(Fleet { workers })
    }

    /// Process ids of the workers, for charging the client's own CPU.
    pub fn pids(&self) -> Vec<u32> {
        self.workers
            .iter()
            .filter_map(|worker| worker.child.id())
            .collect()
    }

    pub async fn tell(&mut self, command: Command) -> anyhow::Result<()> {
        let line = serde_json::to_string(&command)?;
        for worker in &mut self.workers {
            worker.send(&line).await?;
        }
        Ok(())
    }

    /// The next event of every worker, in worker order; a `Failed` event, an exit or the
    /// timeout is an error naming the worker.
    pub async fn next_events(&mut self, timeout: Duration) -> anyhow::Result<Vec<Event>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut events = Vec::with_capacity(self.workers.len());
        for worker in &mut self.workers {
            let index = worker.index;
            let line = tokio::time::timeout_at(deadline, worker.events.next_line())
                .await
                .with_context(|| format!("worker {index} said nothing for {timeout:?}"))?
                .with_context(|| format!("reading worker {index}"))?
                .with_context(|| format!("worker {index} exited early (see its stderr above)"))?;
            let event: Event = serde_json::from_str(&line)
                .with_context(|| format!("worker {index} said {line:?}"))?;
            if let Event::Failed { error } = event {
                bail!("{error}");
            }
            events.push(event);
        }
        Ok(events)
    }

    /// Tells every worker to stop and waits for them to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.tell(Command::Stop).await?;
        for worker in &mut self.workers {
            match tokio::time::timeout(EXIT_TIMEOUT, worker.child.wait()).await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => {
                    eprintln!("loadtest: worker {} exited with {status}", worker.index);
                }
                Ok(Err(error)) => {
                    eprintln!("loadtest: waiting for worker {}: {error}", worker.index);
                }
                Err(_) => eprintln!("loadtest: worker {} did not exit; killing it", worker.index),
            }
        }
        Ok(())
    }
}

impl Worker {
    async fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let index = self.index;
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .with_context(|| format!("writing to worker {index}"))?;
        self.stdin
            .flush()
            .await
            .context("flushing a worker's stdin")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(first_source: &str) -> TargetArgs {
        use clap::Parser as _;
        let args = [
            "loadtest",
            "idle",
            "--server",
            "http://x",
            "--first-source-ip",
            first_source,
        ];
        match crate::cli::Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(crate::cli::Command::Idle(idle)) => idle.target,
            other => panic!("unexpected parse: {other:?}"),
        }
    }

    #[test]
    fn devices_and_addresses_are_spread() {
        let plans = plan("http://x", &target("127.0.0.2"), 10, 3, None).expect("plan");
        let devices: Vec<usize> = plans.iter().map(|p| p.devices).collect();
        assert_eq!(devices, [4, 3, 3]);
        assert_eq!(plans[2].source_ip, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4)));
        assert!(plan("http://x", &target("127.255.255.255"), 4, 2, None).is_err());
    }
}
