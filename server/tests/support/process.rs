//! Starting, killing and restarting the real `pushd` process. pushd tells
//! where it listens through its ready file (`--ready-file`), not its log.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long pushd may take to open its store and bind (a CQL keyspace
/// migration is the slow case).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// This node's part of a cluster, from the ready file.
#[derive(Debug, Clone)]
pub struct ClusterNode {
    pub node_id: String,
    pub address: String,
}

pub struct Pushd {
    child: Child,
    pub url: String,
    pub metrics_addr: String,
    /// Set when pushd runs with --cluster-listen.
    pub cluster: Option<ClusterNode>,
    pub data_dir: PathBuf,
    extra_args: Vec<String>,
    /// Every line pushd has written to stderr so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Pushd {
    /// Starts pushd on a fresh temp data folder (leaked so restarts can reuse it).
    pub fn start(extra_args: &[&str]) -> Self {
        let folder = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        Self::start_in(folder.path(), extra_args)
    }

    pub fn start_in(data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::launch(Command::new(binary()), data_dir, extra_args)
    }

    /// Starts pushd with this open-files limit (`soft:hard`), through util-linux's `prlimit`.
    pub fn start_with_open_files(limit: &str, extra_args: &[&str]) -> Self {
        let folder = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={limit}"))
            .arg("--")
            .arg(binary());
        Self::launch(command, folder.path(), extra_args)
    }

    fn launch(mut command: Command, data_dir: &Path, extra_args: &[&str]) -> Self {
        let extra_args: Vec<String> = extra_args.iter().map(ToString::to_string).collect();
        // Leaked like the data folder: a restart writes a new file in it.
        let ready_folder = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
        let ready_file = ready_folder.path().join("ready.json");
        let mut child = command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--log",
                "info",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--ready-file")
            .arg(&ready_file)
            .args(&extra_args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pushd");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        // Keeps draining stderr so pushd never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[pushd] {line}");
                kept.lock().expect("log lock").push(line);
            }
        });
        let ready = wait_for_ready_file(&mut child, &ready_file);
        let address = |key: &str| ready[key].as_str().map(str::to_string);
        let grpc = address("listen").expect("listen in the ready file");
        let metrics_addr = address("metrics").unwrap_or_default();
        let cluster = ready["cluster"].as_object().map(|cluster| ClusterNode {
            node_id: cluster["node_id"].as_str().expect("node_id").to_string(),
            address: cluster["listen"].as_str().expect("listen").to_string(),
        });
        Self {
            child,
            url: format!("http://{grpc}"),
            metrics_addr,
            cluster,
            data_dir: data_dir.to_path_buf(),
            extra_args,
            log,
        }
    }

    /// The lines pushd has written to stderr so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// The metrics listener's answer to `GET path`: status code and body.
    pub fn get_metrics_listener(&self, path: &str) -> std::io::Result<(u16, String)> {
        use std::io::{Read as _, Write as _};
        let address = &self.metrics_addr;
        let mut connection = std::net::TcpStream::connect(address)?;
        write!(connection, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
        let mut response = String::new();
        connection.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_default();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Sends SIGTERM and returns at once (see [`Self::terminate`] to wait).
    pub fn signal_terminate(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
    }

    /// The exit status, if pushd has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        use std::io::{Read as _, Write as _};
        let address = &self.metrics_addr;
        let mut connection = std::net::TcpStream::connect(address).expect("connect metrics");
        write!(
            connection,
            "GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n"
        )
        .expect("write");
        let mut response = String::new();
        connection.read_to_string(&mut response).expect("read");
        response
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("pushd did not exit within 30 s of SIGTERM");
    }

    /// A new process on the same data folder (new port).
    pub fn restart(&mut self) {
        self.kill();
        let args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        *self = Self::start_in(&self.data_dir.clone(), &args);
    }
}

impl Drop for Pushd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs pushd with `args` (on port 0, a fresh data folder, no metrics
/// listener) where it must refuse to start; its stderr, for the reason.
pub fn refused_start(args: &[&str]) -> String {
    let output = Command::new(binary())
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "off"])
        .args(args)
        .arg("--data-dir")
        .arg(tempfile::tempdir().expect("dir").path())
        .output()
        .expect("run pushd");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "pushd started: {stderr}");
    stderr
}

/// The pushd under test: this build's, or `PUSHD_TEST_BINARY` (e.g. an
/// older build, to see a test fail without the fix it covers).
fn binary() -> PathBuf {
    std::env::var_os("PUSHD_TEST_BINARY")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pushd")), PathBuf::from)
}

/// The ready file's JSON once pushd has written it; panics if pushd exits
/// first or takes longer than [`START_TIMEOUT`].
fn wait_for_ready_file(child: &mut Child, path: &Path) -> serde_json::Value {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        // Renamed into place whole, so a file that exists is complete.
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).expect("the ready file is JSON");
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("pushd exited ({status}) before it was ready; its log is above");
        }
        assert!(
            Instant::now() < deadline,
            "pushd did not write {} within {START_TIMEOUT:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
