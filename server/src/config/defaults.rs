//! Every setting's default, once: `resolve` uses these, and a test checks
//! the `[default: …]` in `--help` and README.md's settings table against
//! them (`defaults_match_the_help_and_the_readme` in `config/tests.rs`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8070));
pub const METRICS_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9070));
pub const STORE: &str = "sqlite";
pub const DATA_DIR: &str = "./pushd-data";
/// 28 days.
pub const MAX_TTL_SECONDS: u32 = 28 * 24 * 3600;
pub const MAX_QUEUED_MESSAGES: u64 = 10_000;
/// 32 MiB.
pub const MAX_QUEUED_BYTES: u64 = 32 << 20;
pub const SQLITE_SYNC: &str = "full";
pub const LIVE_ACK_WAIT_MS: u64 = 20;
pub const HANDSHAKE_TIMEOUT_SECONDS: u64 = 10;
pub const MAX_ACCOUNT_DEVICES: u32 = 16;
pub const EXPIRY_INTERVAL_SECONDS: u64 = 60;
pub const DRAIN_SECONDS: u64 = 10;
pub const RECEIPT_RETENTION_SECONDS: u64 = 86_400;
pub const MAX_RECEIPT_WATCHERS: usize = 1024;
/// 7 days.
pub const UNUSED_DEVICE_SECONDS: u64 = 7 * 86_400;
pub const LOG: &str = "info";

// Security: quotas and rates.
pub const MAX_SUBSCRIPTIONS_PER_DEVICE: u32 = 200;
pub const SENDER_RATE: u32 = 1000;
pub const SUBSCRIPTION_RATE: u32 = 100;
pub const DEVICE_RATE: u32 = 200;
pub const REGISTER_RATE_PER_IP: u32 = 10;
/// Room for ~30,000 senders' tokens (~250 bytes each); past that, tokens
/// are checked by ECDSA again (~0.1 ms each), not refused.
pub const VAPID_CACHE_BYTES: u64 = 8 << 20;

// Connections on the public port.
/// 0: the open-files limit less what the store, bridges and logs need.
pub const MAX_CONNECTIONS: u32 = 0;
pub const MAX_CONNECTIONS_PER_IP: u32 = 1024;
/// 0: no limit (behind a proxy every client has its address).
pub const CONNECTION_RATE_PER_IP: u32 = 0;
pub const MAX_STREAMS_PER_CONNECTION: u32 = 256;
pub const REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const MAX_CONNECTION_AGE_SECONDS: u64 = 86_400;
pub const MAX_CONNECTION_AGE_GRACE_SECONDS: u64 = 60;
pub const TCP_USER_TIMEOUT_SECONDS: u64 = 60;
/// 256 KiB.
pub const MAX_STREAM_UNACKED_BYTES: u32 = 256 << 10;
/// 256 MiB.
pub const MAX_UNACKED_BYTES_TOTAL: u32 = 256 << 20;

// Bridges. The routing policy's defaults (`bridge_when_idle`,
// `low_urgency_margin_seconds`) are `RoutingPolicy::default()`'s.
pub const APNS_ALERT_TITLE: &str = "New notification";
/// Enough for a busy node (each call is one HTTP/2 request, most answered
/// in well under a second) while bounding sockets and memory.
pub const BRIDGE_WORKERS: usize = 64;
/// Apple and Google answer in milliseconds; ten seconds rides out a slow
/// moment without holding a worker for long.
pub const BRIDGE_CALL_TIMEOUT_SECONDS: u64 = 10;
