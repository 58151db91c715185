//! The server under test: one the user already runs (`--server` + `--server-pid`, pushd or,
//! for a standard-only run, any push service), or a pushd the coordinator starts itself
//! (`--pushd PATH`) on a free port with a throwaway data folder.
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::cli::TargetArgs;
use crate::procfs::ProcessSample;

/// How long a started pushd may take to announce its address.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Log lines kept so a pushd that dies mid-run can be explained.
const LOG_TAIL: usize = 40;

pub struct ServerUnderTest {
    /// `http://host:port` of the gRPC listener.
    pub url: String,
    /// The processes charged for the server's CPU and memory (none: figures without them).
    pub pids: Vec<u32>,
    /// Kept so the process is killed and the data folder removed when this is dropped.
    child: Option<Child>,
    _data_dir: Option<tempfile::TempDir>,
    log_tail: Arc<Mutex<VecDeque<String>>>,
}

impl ServerUnderTest {
    pub async fn resolve(target: &TargetArgs) -> anyhow::Result<Self> {
        match (&target.pushd, &target.server) {
            (Some(binary), _) => start(binary, target).await,
            (None, Some(url)) => Ok(ServerUnderTest {
                url: url.trim_end_matches('/').to_owned(),
                pids: target.server_pids.clone(),
                child: None,
                _data_dir: None,
                log_tail: Arc::default(),
            }),
            (None, None) => bail!("say which server to load: --server URL or --pushd PATH"),
        }
    }

    /// A sample of the server's processes added up, when their pids are known.
    pub fn sample(&self) -> anyhow::Result<Option<ProcessSample>> {
        if self.pids.is_empty() {
            return Ok(None);
        }
        ProcessSample::take_all(&self.pids).map(Some)
    }

    /// Fails if a pushd we started has exited, quoting the end of its log.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "pushd exited ({status}); last log lines:\n{}",
                recalled(&self.log_tail)
            );
        }
        Ok(())
    }
}

/// pushd's message rate limits and per-address caps are abuse controls: one
/// loadtest sender at full speed, or a fleet of devices from a few loopback addresses, is
/// exactly what they stop. They are turned off unless `--pushd-arg` sets them.
fn unlimited(pushd_args: &[String]) -> Vec<&'static str> {
    [
        "--sender-rate",
        "--subscription-rate",
        "--device-rate",
        "--max-connections-per-ip",
        "--register-rate-per-ip",
    ]
    .into_iter()
    .filter(|flag| !pushd_args.iter().any(|arg| arg.starts_with(flag)))
    .flat_map(|flag| [flag, "0"])
    .collect()
}

async fn start(binary: &PathBuf, target: &TargetArgs) -> anyhow::Result<ServerUnderTest> {
    let data_dir = tempfile::Builder::new()
        .prefix("pushd-loadtest-")
        .tempdir_in(&target.data_parent)
        .with_context(|| format!("creating a data folder in {}", target.data_parent.display()))?;
    // pushd writes its bound addresses here once it listens.
    let ready_file = data_dir.path().join("ready.json");
    let mut child = Command::new(binary)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
            "--data-dir",
        ])
        .arg(data_dir.path())
        .arg("--ready-file")
        .arg(&ready_file)
        .args(unlimited(&target.pushd_args))
        .args(&target.pushd_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stderr = child
        .stderr
        .take()
        .context("pushd stderr was not captured")?;
    // Keep reading: a full stderr pipe would block pushd's logging and stall the server.
    let log_tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let tail = log_tail.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            remember(&tail, &line);
        }
    });
    let address = tokio::time::timeout(STARTUP_TIMEOUT, async {
        loop {
            if let Some(address) = announced_address(&ready_file) {
                return Ok(address);
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "pushd exited ({status}) before listening:\n{}",
                    recalled(&log_tail)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("pushd did not write its ready file within 30 s")??;
    eprintln!(
        "loadtest: started pushd pid {} on {address} (data in {})",
        child.id().unwrap_or(0),
        data_dir.path().display()
    );
    Ok(ServerUnderTest {
        url: format!("http://{address}"),
        pids: child.id().into_iter().collect(),
        child: Some(child),
        _data_dir: Some(data_dir),
        log_tail,
    })
}

/// Where WebSocket push clients connect: a `ws://` URL as given; for an `http://` one, the
/// same host and port at `/`, where pushd serves the protocol on its one public port.
pub fn websocket_url(url: &str) -> String {
    match url.strip_prefix("http://") {
        Some(authority) => format!("ws://{}/", authority.trim_end_matches('/')),
        None => url.to_owned(),
    }
}

/// The remembered log lines, oldest first, one per line.
fn recalled(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock()
        .map(|tail| Vec::from(tail.clone()).join("\n"))
        .unwrap_or_default()
}

fn remember(tail: &Mutex<VecDeque<String>>, line: &str) {
    if let Ok(mut tail) = tail.lock() {
        if tail.len() == LOG_TAIL {
            tail.pop_front();
        }
        tail.push_back(line.to_owned());
    }
}

/// The public address in the ready file pushd writes (`{"listen": "127.0.0.1:PORT", ...}`),
/// once it is there: pushd renames it into place whole.
fn announced_address(ready_file: &std::path::Path) -> Option<std::net::SocketAddr> {
    let text = std::fs::read_to_string(ready_file).ok()?;
    let announced: serde_json::Value = serde_json::from_str(&text).ok()?;
    announced.get("listen")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_pushd_announces() {
        let folder = tempfile::tempdir().expect("tempdir");
        let file = folder.path().join("ready.json");
        assert_eq!(announced_address(&file), None, "not written yet");
        std::fs::write(
            &file,
            r#"{"listen":"127.0.0.1:40123","metrics":null,"cluster":null,"pid":7}"#,
        )
        .expect("write");
        assert_eq!(announced_address(&file).map(|a| a.port()), Some(40123));
    }

    #[test]
    fn websocket_clients_go_to_the_same_port() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8070"),
            "ws://127.0.0.1:8070/"
        );
        assert_eq!(
            websocket_url("ws://127.0.0.1:8080/"),
            "ws://127.0.0.1:8080/"
        );
    }
}
