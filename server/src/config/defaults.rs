//! Every setting's default, once: `resolve` uses these, and a test checks
//! the `[default: …]` in `--help` and README.md's settings table against
//! them (`defaults_match_the_help_and_the_readme` in `config/tests.rs`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

pub(crate) const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8070));
pub(crate) const METRICS_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9070));
pub(crate) const STORE: &str = "sqlite";
pub(crate) const DATA_DIR: &str = "./pushd-data";
/// 28 days.
pub(crate) const MAX_TTL_SECONDS: u32 = 28 * 24 * 3600;
pub(crate) const MAX_QUEUED_MESSAGES: u64 = 10_000;
/// 32 MiB.
pub(crate) const MAX_QUEUED_BYTES: u64 = 32 << 20;
pub(crate) const SQLITE_SYNC: &str = "full";
pub(crate) const LIVE_ACK_WAIT_MS: u64 = 20;
pub(crate) const HANDSHAKE_TIMEOUT_SECONDS: u64 = 10;
pub(crate) const MAX_ACCOUNT_DEVICES: u32 = 16;
pub(crate) const EXPIRY_INTERVAL_SECONDS: u64 = 60;
pub(crate) const DRAIN_SECONDS: u64 = 10;
pub(crate) const RECEIPT_RETENTION_SECONDS: u64 = 86_400;
pub(crate) const MAX_RECEIPT_WATCHERS: usize = 1024;
/// 7 days.
pub(crate) const UNUSED_DEVICE_SECONDS: u64 = 7 * 86_400;
pub(crate) const LOG: &str = "info";
pub(crate) const LOG_FORMAT: &str = "text";

// Security: quotas and rates.
pub(crate) const MAX_SUBSCRIPTIONS_PER_DEVICE: u32 = 200;
pub(crate) const SENDER_RATE: u32 = 1000;
pub(crate) const SUBSCRIPTION_RATE: u32 = 100;
pub(crate) const DEVICE_RATE: u32 = 200;
pub(crate) const REGISTER_RATE_PER_IP: u32 = 10;
/// Room for ~30,000 senders' tokens (~250 bytes each); past that, tokens
/// are checked by ECDSA again (~0.1 ms each), not refused.
pub(crate) const VAPID_CACHE_BYTES: u64 = 8 << 20;

// Connections on the public port.
/// 0: the open-files limit less what the store, bridges and logs need.
pub(crate) const MAX_CONNECTIONS: u32 = 0;
pub(crate) const MAX_CONNECTIONS_PER_IP: u32 = 1024;
/// 0: no limit (behind a proxy every client has its address).
pub(crate) const CONNECTION_RATE_PER_IP: u32 = 0;
pub(crate) const MAX_STREAMS_PER_CONNECTION: u32 = 256;
pub(crate) const REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub(crate) const MAX_CONNECTION_AGE_SECONDS: u64 = 86_400;
pub(crate) const MAX_CONNECTION_AGE_GRACE_SECONDS: u64 = 60;
pub(crate) const TCP_USER_TIMEOUT_SECONDS: u64 = 60;
/// 256 KiB.
pub(crate) const MAX_STREAM_UNACKED_BYTES: u32 = 256 << 10;
/// 256 MiB.
pub(crate) const MAX_UNACKED_BYTES_TOTAL: u32 = 256 << 20;

// Bridges. The routing policy's defaults (`bridge_when_idle`,
// `low_urgency_margin_seconds`) are `RoutingPolicy::default()`'s.
pub(crate) const APNS_ALERT_TITLE: &str = "New notification";
/// Enough for a busy node (each call is one HTTP/2 request, most answered
/// in well under a second) while bounding sockets and memory.
pub(crate) const BRIDGE_WORKERS: usize = 64;
/// Apple and Google answer in milliseconds; ten seconds rides out a slow
/// moment without holding a worker for long.
pub(crate) const BRIDGE_CALL_TIMEOUT_SECONDS: u64 = 10;
