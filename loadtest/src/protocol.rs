//! What the coordinator and its worker processes say to each other: one JSON object per line,
//! the plan and commands on the worker's stdin, events on its stdout. Worker diagnostics go
//! to stderr, which the coordinator leaves attached to the terminal.
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

/// Everything a worker needs, sent as its first stdin line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerPlan {
    pub index: usize,
    pub server_url: String,
    /// Where submissions go, when not `server_url` (another node of a cluster).
    #[serde(default)]
    pub submit_url: Option<String>,
    /// Every connection this worker opens is bound to this loopback address.
    pub source_ip: IpAddr,
    pub devices: usize,
    /// Device connections opened at once.
    pub connect_concurrency: usize,
    /// How the devices listen.
    #[serde(default = "grpc")]
    pub devices_over: crate::cli::DevicesOver,
    /// `None`: the devices only connect and idle.
    pub load: Option<LoadPlan>,
}

/// This worker's share of a throughput run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadPlan {
    /// Submissions per second for this worker; `None` means as fast as `window` allows.
    pub rate: Option<f64>,
    pub window: usize,
    pub duration_ms: u64,
    pub payload_bytes: usize,
    pub sender_channels: usize,
    pub ttl_seconds: u32,
    pub grace_ms: u64,
    /// How submissions travel to the server.
    #[serde(default)]
    pub submit_over: SubmitOver,
}

/// The protocol a throughput run submits over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SubmitOver {
    /// gRPC `SubmitMessage`, multiplexed over `sender_channels` HTTP/2 connections.
    #[default]
    Grpc,
    /// RFC 8030 `POST <endpoint>` over HTTP/1.1 keep-alive, one connection per window slot.
    Http1,
    /// RFC 8030 `POST <endpoint>` over h2c, multiplexed over `sender_channels` connections.
    Http2,
}

impl SubmitOver {
    pub fn name(self) -> &'static str {
        match self {
            SubmitOver::Grpc => "grpc",
            SubmitOver::Http1 => "http1",
            SubmitOver::Http2 => "http2",
        }
    }
}

/// Coordinator → worker, after the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Open every device's stream.
    Connect,
    /// Start the measured load.
    Go,
    /// Close everything and exit.
    Stop,
}

/// Worker → coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Devices are registered (and subscribed) but not connected.
    Registered {
        devices: usize,
        elapsed_ms: u64,
    },
    /// Every device's stream is open and its backlog done.
    Connected {
        devices: usize,
        elapsed_ms: u64,
    },
    Report(Box<LoadReport>),
    Failed {
        error: String,
    },
}

/// One worker's view of a throughput run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadReport {
    /// Submissions the server answered OK.
    pub accepted: u64,
    /// Refused or failed submissions, by gRPC code or HTTP status (`HTTP 429`).
    pub submit_errors: BTreeMap<String, u64>,
    /// Accepted messages that reached their device (each counted once).
    pub delivered: u64,
    /// Accepted messages that had not arrived when the grace period ended.
    pub missing: u64,
    /// Deliveries of a message already delivered on the same run.
    pub duplicates: u64,
    /// Deliveries whose id no accepted submission returned (e.g. a submission that timed
    /// out on our side after the server had stored it).
    pub unknown: u64,
    /// Streams that ended or erred while they should have stayed open.
    pub stream_failures: u64,
    /// The first few stream failure messages.
    pub failure_samples: Vec<String>,
    /// Submission start → delivery, µs.
    pub end_to_end: Histogram,
    /// Submission start → OK (durable acceptance), µs.
    pub accept: Histogram,
    /// Go → last submission answered.
    pub submit_elapsed_ms: f64,
    /// Go → last delivery.
    pub deliver_elapsed_ms: f64,
    /// How deliveries were matched to submissions; `None` when nothing was delivered.
    #[serde(default)]
    pub latency_join: Option<JoinBy>,
}

/// How a worker matched deliveries to submissions (see [`crate::join`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinBy {
    /// The id the sender was answered with is the id the device saw.
    MessageId,
    /// Per device, in the order the submissions were started.
    DeviceOrder,
    /// Workers differed (in one run against one server, this should not happen).
    Mixed,
}

impl JoinBy {
    pub fn name(joined: Option<JoinBy>) -> &'static str {
        match joined {
            Some(JoinBy::MessageId) => "message_id",
            Some(JoinBy::DeviceOrder) => "device_order",
            Some(JoinBy::Mixed) => "mixed",
            None => "none",
        }
    }
}

impl LoadReport {
    pub fn merge(&mut self, other: &LoadReport) {
        self.accepted += other.accepted;
        for (code, count) in &other.submit_errors {
            *self.submit_errors.entry(code.clone()).or_insert(0) += count;
        }
        self.delivered += other.delivered;
        self.missing += other.missing;
        self.duplicates += other.duplicates;
        self.unknown += other.unknown;
        self.stream_failures += other.stream_failures;
        self.failure_samples
            .extend(other.failure_samples.iter().take(5).cloned());
        self.end_to_end.merge(&other.end_to_end);
        self.accept.merge(&other.accept);
        self.submit_elapsed_ms = self.submit_elapsed_ms.max(other.submit_elapsed_ms);
        self.deliver_elapsed_ms = self.deliver_elapsed_ms.max(other.deliver_elapsed_ms);
        self.latency_join = match (self.latency_join, other.latency_join) {
            (mine, None) => mine,
            (None, theirs) => theirs,
            (Some(mine), Some(theirs)) if mine == theirs => Some(mine),
            _ => Some(JoinBy::Mixed),
        };
    }
}

fn grpc() -> crate::cli::DevicesOver {
    crate::cli::DevicesOver::Grpc
}
