//! Starting, killing and restarting the real `pushd` process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What a cluster node logs about itself when it joins.
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
        let extra_args: Vec<String> = extra_args.iter().map(|arg| arg.to_string()).collect();
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
            .args(&extra_args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pushd");
        let stderr = child.stderr.take().expect("stderr");
        let (ready, addresses) = mpsc::channel();
        // Keeps draining stderr after startup so pushd never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut cluster = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[pushd] {line}");
                if let (Some(node_id), Some(address)) =
                    (field(&line, "node_id="), field(&line, "cluster_addr="))
                {
                    cluster = Some(ClusterNode { node_id, address });
                }
                if let (Some(grpc), Some(metrics)) =
                    (field(&line, "grpc_addr="), field(&line, "metrics_addr="))
                {
                    let _ = ready.send((grpc, metrics, cluster.take()));
                }
            }
        });
        let (grpc, metrics_addr, cluster) = addresses
            .recv_timeout(Duration::from_secs(30))
            .expect("pushd did not report its address");
        Self {
            child,
            url: format!("http://{grpc}"),
            metrics_addr,
            cluster,
            data_dir: data_dir.to_path_buf(),
            extra_args,
        }
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

/// The pushd under test: this build's, or `PUSHD_TEST_BINARY` (e.g. an
/// older build, to see a test fail without the fix it covers).
fn binary() -> PathBuf {
    std::env::var_os("PUSHD_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pushd")))
}

fn field(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    Some(line[start..].split_whitespace().next()?.to_string())
}
