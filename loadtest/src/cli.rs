//! Command-line surface: one subcommand per scenario, plus the hidden `worker` the coordinator
//! runs as child processes of itself.
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};

use crate::protocol::SubmitOver;

#[derive(Debug, Parser)]
#[command(
    name = "loadtest",
    version,
    about = "Load generator for pushd: throughput and latency, idle-connection memory, backlog drain"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// N live devices; submit at a fixed or maximal rate; report delivered msgs/s, end-to-end
    /// latency and server CPU per message.
    Throughput(ThroughputArgs),
    /// N idle live devices; report server RSS per connected device.
    Idle(IdleArgs),
    /// Queue K messages for an offline device, connect it, time until the K-th arrives.
    Drain(DrainArgs),
    /// Internal: one worker process, driven by the coordinator over stdin/stdout.
    #[command(hide = true)]
    Worker,
}

/// Which server to load, and how the run is reported.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// URL of a running pushd, e.g. http://127.0.0.1:8070; with `--devices-over webpush`,
    /// the WebSocket URL of any push service, e.g. ws://127.0.0.1:8080/ (an http:// URL
    /// means the same host and port, where pushd serves the WebSocket at /).
    #[arg(long, required_unless_present = "pushd")]
    pub server: Option<String>,
    /// Pid of that server, for server CPU and RSS figures (read from /proc). A server made of
    /// several processes (autopush: autoconnect, autoendpoint, redis-server) is charged for
    /// all of them: repeat the flag or give a comma list.
    #[arg(long = "server-pid", value_delimiter = ',')]
    pub server_pids: Vec<u32>,
    /// Start this pushd binary on 127.0.0.1:0 with a temporary data folder instead.
    #[arg(long, conflicts_with_all = ["server", "server_pids"])]
    pub pushd: Option<PathBuf>,
    /// Extra argument for the started pushd; repeat for several (e.g. --pushd-arg=--sqlite-sync=normal).
    #[arg(long = "pushd-arg", allow_hyphen_values = true)]
    pub pushd_args: Vec<String>,
    /// Folder the started pushd's temporary data folder goes in (pick a real disk: fsync on
    /// tmpfs is free and would flatter durable acceptance).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    pub data_parent: PathBuf,
    /// First client source address; worker i binds 127.0.0.x + i (loopback only).
    #[arg(long, default_value = "127.0.0.2")]
    pub first_source_ip: Ipv4Addr,
    /// Device connections each worker opens at once. pushd listens with a backlog of 4096
    /// (capped by `net.core.somaxconn`); more connects in flight than the backlog overflow it,
    /// and the kernel then answers with SYN cookies and drops or resets connections (counted in
    /// `nstat` ListenOverflows). 32 stays well clear of that for servers with tokio's default 128.
    #[arg(long, default_value_t = 32)]
    pub connect_concurrency: usize,
    /// How devices listen: gRPC `Listen` streams; the WebSocket push protocol Firefox speaks,
    /// with devices registered over pushd's gRPC API (`websocket`); or nothing but the
    /// standard protocols, for any push service (`webpush`: each device says hello without
    /// a uaid and registers a channel over its WebSocket, senders POST to its endpoint).
    #[arg(long, value_enum, default_value_t = DevicesOver::Grpc)]
    pub devices_over: DevicesOver,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum DevicesOver {
    Grpc,
    Websocket,
    Webpush,
}

impl DevicesOver {
    pub fn name(self) -> &'static str {
        match self {
            DevicesOver::Grpc => "grpc",
            DevicesOver::Websocket => "websocket",
            DevicesOver::Webpush => "webpush",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Live devices, each on its own TCP connection.
    #[arg(long, default_value_t = 1000)]
    pub devices: usize,
    /// Worker processes the devices and senders are spread over. On two shared cores one
    /// worker measured best: each extra process costs the server more CPU than it adds load.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Total submissions per second across workers, or `max`.
    #[arg(long, default_value = "max")]
    pub rate: Rate,
    /// Submissions in flight per worker (the cap in fixed-rate mode, the load in `max` mode).
    #[arg(long, default_value_t = 128)]
    pub window: usize,
    /// Seconds of submitting (the measured window).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Plaintext bytes per message (encrypted once per device before the run; 1..=3967).
    #[arg(long, default_value_t = 128)]
    pub payload: usize,
    /// HTTP/2 connections per worker that submissions are multiplexed over (grpc, http2).
    #[arg(long, default_value_t = 4)]
    pub sender_channels: usize,
    /// How submissions travel: gRPC `SubmitMessage`, or RFC 8030 `POST <endpoint>` over
    /// HTTP/1.1 (`--window` keep-alive connections per worker, one request in flight on each;
    /// `--sender-channels` does not apply) or over h2c (`--sender-channels` connections).
    /// [default: grpc, or http1 with `--devices-over webpush`]
    #[arg(long, value_enum)]
    pub submit_over: Option<SubmitOver>,
    /// TTL of each message; above 0 every accepted message is stored durably first.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u32,
    /// Seconds to wait after the last submission for deliveries still on their way.
    #[arg(long, default_value_t = 10)]
    pub grace: u64,
    /// Submit to this pushd instead (another node of the same cluster), so every
    /// message crosses nodes; devices still connect to the target server.
    #[arg(long)]
    pub submit_to: Option<String>,
}

impl ThroughputArgs {
    /// `--submit-over`, or what the devices allow: webpush devices have only an endpoint URL.
    pub fn submit_over(&self) -> SubmitOver {
        match (self.submit_over, self.target.devices_over) {
            (Some(over), _) => over,
            (None, DevicesOver::Webpush) => SubmitOver::Http1,
            (None, _) => SubmitOver::Grpc,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Idle live devices, each on its own TCP connection.
    #[arg(long, default_value_t = 1000)]
    pub devices: usize,
    /// Worker processes (each may hold at most ~19,000 sockets); default: one per 9,000 devices.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Seconds to let the server settle after the last stream opened, before sampling RSS.
    #[arg(long, default_value_t = 3)]
    pub settle: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DrainArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Messages queued for the offline device each round.
    #[arg(long, default_value_t = 1000)]
    pub messages: usize,
    /// Rounds, each with a fresh device.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Plaintext bytes per message.
    #[arg(long, default_value_t = 128)]
    pub payload: usize,
    /// Seconds a returning device waits for its queued messages. gRPC and websocket: a
    /// slower drain fails the run; webpush: the round is reported with what arrived.
    #[arg(long, default_value_t = 30)]
    pub drain_timeout: u64,
}

/// Submission pacing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// As fast as the in-flight window allows.
    Max,
    /// This many submissions per second in total.
    PerSecond(f64),
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        match text.parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(Rate::PerSecond(rate)),
            _ => Err(format!(
                "rate {text:?} is neither `max` nor a positive number"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        assert_eq!("max".parse(), Ok(Rate::Max));
        assert_eq!("15000".parse(), Ok(Rate::PerSecond(15_000.0)));
        assert!("-3".parse::<Rate>().is_err());
        let cli = Cli::parse_from([
            "loadtest",
            "throughput",
            "--pushd",
            "p",
            "--submit-over",
            "http2",
        ]);
        let Command::Throughput(args) = cli.command else {
            panic!("not a throughput run");
        };
        assert_eq!(args.submit_over(), SubmitOver::Http2);
        let cli = Cli::parse_from([
            "loadtest",
            "idle",
            "--server",
            "ws://127.0.0.1:8080/",
            "--server-pid",
            "11,12",
            "--server-pid",
            "13",
        ]);
        let Command::Idle(args) = cli.command else {
            panic!("not an idle run");
        };
        assert_eq!(args.target.server_pids, [11, 12, 13]);
        let cli = Cli::parse_from(["loadtest", "throughput", "--pushd", "p"]);
        let Command::Throughput(args) = cli.command else {
            panic!("not a throughput run");
        };
        assert_eq!(args.submit_over(), SubmitOver::Grpc);
        let cli = Cli::parse_from([
            "loadtest",
            "throughput",
            "--pushd",
            "p",
            "--devices-over",
            "webpush",
        ]);
        let Command::Throughput(args) = cli.command else {
            panic!("not a throughput run");
        };
        assert_eq!(args.submit_over(), SubmitOver::Http1, "webpush has no gRPC");
    }
}
