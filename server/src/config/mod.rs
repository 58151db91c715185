//! Settings: defaults, overridden by an optional TOML file, overridden by
//! environment variables (`PUSHD_*`), overridden by command-line flags.
//! One struct ([`Overrides`]) is both the flag set and the file format, so
//! the two can never drift apart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser};
use serde::Deserialize;

use crate::store::RetentionLimits;

mod bridges;
mod cluster;
mod connections;
pub(crate) mod defaults;
mod error;
mod security;

use bridges::bridge_settings;
use cluster::cluster_settings;
use connections::connection_settings;
pub use error::ConfigError;
pub(crate) use security::{Secret, SecuritySettings};
// Built here, defined by the layer that uses them.
pub(crate) use crate::bridges::BridgeSettings;
pub(crate) use crate::cluster::ClusterSettings;
pub(crate) use crate::transport::ConnectionSettings;

#[derive(Debug, Parser)]
#[command(
    name = "pushd",
    version,
    about = "Push notification server (Web Push encryption, gRPC delivery)"
)]
pub struct Cli {
    /// TOML file with any of the settings below (flag names with `_` instead of `-`).
    #[arg(long, env = "PUSHD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) overrides: Overrides,
}

#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// gRPC listen address [default: 127.0.0.1:8070]
    #[arg(long, env = "PUSHD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Prometheus /metrics listen address, or "off" [default: 127.0.0.1:9070]
    #[arg(long, env = "PUSHD_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Storage: "sqlite" (embedded, in data_dir) or scylla://host1,host2[:port]/keyspace[?rf=N]
    /// for a ScyllaDB/Cassandra cluster shared by several pushd nodes [default: sqlite]
    #[arg(long, env = "PUSHD_STORE")]
    pub store: Option<String>,
    /// Folder for the embedded database [default: ./pushd-data]
    #[arg(long, env = "PUSHD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Base URL devices' endpoints start with, and the VAPID audience's origin
    /// [default: http://<listen address>]
    #[arg(long, env = "PUSHD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Longest TTL kept; longer requests are lowered to it [default: 2419200 (28 days)]
    #[arg(long, env = "PUSHD_MAX_TTL_SECONDS")]
    pub max_ttl_seconds: Option<u32>,
    /// Messages queued per device before senders get RESOURCE_EXHAUSTED [default: 10000]
    #[arg(long, env = "PUSHD_MAX_QUEUED_MESSAGES")]
    pub max_queued_messages: Option<u64>,
    /// Payload bytes queued per device before senders get RESOURCE_EXHAUSTED [default: 33554432]
    #[arg(long, env = "PUSHD_MAX_QUEUED_BYTES")]
    pub max_queued_bytes: Option<u64>,
    /// "full": a commit waits for fsync (survives power loss); "normal": for the OS (survives a pushd crash) [default: full]
    #[arg(long, env = "PUSHD_SQLITE_SYNC")]
    pub sqlite_sync: Option<String>,
    /// Milliseconds the store holds a live-delivered message's write, waiting
    /// for the ack that makes it unnecessary; 0 writes at once [default: 20]
    #[arg(long, env = "PUSHD_LIVE_ACK_WAIT_MS")]
    pub live_ack_wait_ms: Option<u64>,
    /// Devices one account may hold, pending ones included [default: 16]
    #[arg(long, env = "PUSHD_MAX_ACCOUNT_DEVICES")]
    pub max_account_devices: Option<u32>,
    /// Subscriptions one device may hold [default: 200]
    #[arg(long, env = "PUSHD_MAX_SUBSCRIPTIONS_PER_DEVICE")]
    pub max_subscriptions_per_device: Option<u32>,
    /// TLS on the public listener: the certificate chain (PEM)
    #[arg(long, env = "PUSHD_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// TLS on the public listener: the certificate's private key (PEM)
    #[arg(long, env = "PUSHD_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// New connections one IP address may open per second (bursts of 5x); 0 = no limit.
    /// Set it when pushd faces clients directly; behind a proxy every client has the proxy's IP [default: 0]
    #[arg(long, env = "PUSHD_CONNECTION_RATE_PER_IP")]
    pub connection_rate_per_ip: Option<u32>,
    /// HTTP/2 streams one connection may have open at once (gRPC calls and
    /// HTTP/2 pushes); more wait on the client [default: 256]
    #[arg(long, env = "PUSHD_MAX_STREAMS_PER_CONNECTION")]
    pub max_streams_per_connection: Option<u32>,
    /// Connections open at once on the public port; beyond it new ones wait
    /// in the kernel's queue. 0 = the open-files limit less 256 kept for the
    /// store, bridges and logs [default: 0]
    #[arg(long, env = "PUSHD_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Connections open at once from one IP address; more are closed at once.
    /// 0 = no limit; set 0 behind a proxy, where every client has its address [default: 1024]
    #[arg(long, env = "PUSHD_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<u32>,
    /// Seconds a request has to be answered (a stream, once answered, runs on) [default: 30]
    #[arg(long, env = "PUSHD_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    /// Seconds after which a connection is asked to close (HTTP/2 GOAWAY;
    /// clients reconnect); 0 = never [default: 86400]
    #[arg(long, env = "PUSHD_MAX_CONNECTION_AGE_SECONDS")]
    pub max_connection_age_seconds: Option<u64>,
    /// Seconds a connection asked to close may still take before it is cut [default: 60]
    #[arg(long, env = "PUSHD_MAX_CONNECTION_AGE_GRACE_SECONDS")]
    pub max_connection_age_grace_seconds: Option<u64>,
    /// Seconds sent data may stay unacknowledged (a dead peer, or one that
    /// stopped reading) before the connection is dropped [default: 60]
    #[arg(long, env = "PUSHD_TCP_USER_TIMEOUT_SECONDS")]
    pub tcp_user_timeout_seconds: Option<u64>,
    /// Bytes of messages one Listen stream may have sent and not seen acked
    /// (in its queue, HTTP/2 and the socket); more wait in the store [default: 262144]
    #[arg(long, env = "PUSHD_MAX_STREAM_UNACKED_BYTES")]
    pub max_stream_unacked_bytes: Option<u32>,
    /// The same for all Listen streams of this node together [default: 268435456]
    #[arg(long, env = "PUSHD_MAX_UNACKED_BYTES_TOTAL")]
    pub max_unacked_bytes_total: Option<u32>,
    /// Serves push.admin.v1 (operator sender blocks) to calls bearing this
    /// token; at least 16 characters. Prefer the environment variable [default: off]
    #[arg(long, env = "PUSHD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Bytes of verified VAPID tokens kept so each is checked once, least
    /// recently used dropped first; 0 checks every message [default: 8388608]
    #[arg(long, env = "PUSHD_VAPID_CACHE_BYTES")]
    pub vapid_cache_bytes: Option<u64>,
    /// Messages per second one sender key may submit (bursts of 10x); 0 = no limit [default: 1000]
    #[arg(long, env = "PUSHD_SENDER_RATE")]
    pub sender_rate: Option<u32>,
    /// Messages per second to one subscription (bursts of 10x); 0 = no limit [default: 100]
    #[arg(long, env = "PUSHD_SUBSCRIPTION_RATE")]
    pub subscription_rate: Option<u32>,
    /// Messages per second to one device, all subscriptions together (bursts of 10x); 0 = no limit [default: 200]
    #[arg(long, env = "PUSHD_DEVICE_RATE")]
    pub device_rate: Option<u32>,
    /// Devices one IP address may register per second (bursts of 10x); 0 = no
    /// limit. Behind a proxy every client has the proxy's address [default: 10]
    #[arg(long, env = "PUSHD_REGISTER_RATE_PER_IP")]
    pub register_rate_per_ip: Option<u32>,
    /// Devices authenticate with this identity provider's tokens (OIDC issuer,
    /// e.g. https://accounts.example.com) instead of pushd's credentials [default: off]
    #[arg(long, env = "PUSHD_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The `aud` the provider puts in tokens for this service (its client id)
    #[arg(long, env = "PUSHD_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// Where the provider publishes its signing keys (JWKS), for a provider
    /// without a discovery document [default: the jwks_uri of
    /// <issuer>/.well-known/openid-configuration]
    #[arg(long, env = "PUSHD_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,
    /// Seconds a client has to finish each step of getting in: the TLS
    /// handshake, an HTTP push's body, a stream's Hello [default: 10]
    #[arg(long, env = "PUSHD_HANDSHAKE_TIMEOUT_SECONDS")]
    pub handshake_timeout_seconds: Option<u64>,
    /// Seconds between sweeps that delete expired messages [default: 60]
    #[arg(long, env = "PUSHD_EXPIRY_INTERVAL_SECONDS")]
    pub expiry_interval_seconds: Option<u64>,
    /// Seconds SIGTERM waits for streams and requests to finish [default: 10]
    #[arg(long, env = "PUSHD_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
    /// Seconds a delivery receipt (and its events) is kept after its last
    /// change, and after its message would expire [default: 86400]
    #[arg(long, env = "PUSHD_RECEIPT_RETENTION_SECONDS")]
    pub receipt_retention_seconds: Option<u64>,
    /// Seconds after which a device that registered and never subscribed,
    /// joined an account or set a bridge is removed; 0 = never [default: 604800]
    #[arg(long, env = "PUSHD_UNUSED_DEVICE_SECONDS")]
    pub unused_device_seconds: Option<u64>,
    /// WatchReceipts streams open at once on this node [default: 1024]
    #[arg(long, env = "PUSHD_MAX_RECEIPT_WATCHERS")]
    pub max_receipt_watchers: Option<usize>,
    /// Listen address of the internal node-to-node service; setting it makes
    /// this node route to the others sharing its scylla:// store. Never expose
    /// it to devices [default: off]
    #[arg(long, env = "PUSHD_CLUSTER_LISTEN")]
    pub cluster_listen: Option<SocketAddr>,
    /// host:port the other nodes dial for the internal service [default: the
    /// cluster_listen address, which must then not be 0.0.0.0 or [::]]
    #[arg(long, env = "PUSHD_CLUSTER_ADVERTISE")]
    pub cluster_advertise: Option<String>,
    /// Shared secret every node of the cluster presents on internal calls, at
    /// least 16 characters; prefer the environment variable to the flag
    #[arg(long, env = "PUSHD_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<Secret>,
    /// APNs token authentication: the .p8 signing key from Apple (needs
    /// apns_key_id and apns_team_id)
    #[arg(long, env = "PUSHD_APNS_KEY_FILE")]
    pub apns_key_file: Option<PathBuf>,
    /// The 10-character id of that key
    #[arg(long, env = "PUSHD_APNS_KEY_ID")]
    pub apns_key_id: Option<String>,
    /// Your Apple developer team id
    #[arg(long, env = "PUSHD_APNS_TEAM_ID")]
    pub apns_team_id: Option<String>,
    /// APNs certificate authentication instead: the .p12 file
    #[arg(long, env = "PUSHD_APNS_CERT_FILE")]
    pub apns_cert_file: Option<PathBuf>,
    /// Password of the .p12 file; prefer the environment variable
    #[arg(long, env = "PUSHD_APNS_CERT_PASSWORD", hide_env_values = true)]
    pub apns_cert_password: Option<Secret>,
    /// Alert title iOS shows if the app's Notification Service Extension
    /// cannot decrypt in time [default: New notification]
    #[arg(long, env = "PUSHD_APNS_ALERT_TITLE")]
    pub apns_alert_title: Option<String>,
    /// FCM: the service-account JSON from the Firebase console
    #[arg(long, env = "PUSHD_FCM_SERVICE_ACCOUNT")]
    pub fcm_service_account: Option<PathBuf>,
    /// FCM API base URL [default: https://fcm.googleapis.com/]
    #[arg(long, env = "PUSHD_FCM_BASE_URL")]
    pub fcm_base_url: Option<String>,
    /// Use a device's bridge when its stream says idle, not only away [default: false]
    #[arg(long, env = "PUSHD_BRIDGE_WHEN_IDLE")]
    pub bridge_when_idle: Option<bool>,
    /// Low and very-low urgency messages wait for an away phone to come back,
    /// and go through its bridge this many seconds before they expire [default: 600]
    #[arg(long, env = "PUSHD_LOW_URGENCY_MARGIN_SECONDS")]
    pub low_urgency_margin_seconds: Option<u64>,
    /// APNs/FCM calls in flight at once; wake-ups beyond it wait in the store [default: 64]
    #[arg(long, env = "PUSHD_BRIDGE_WORKERS")]
    pub bridge_workers: Option<usize>,
    /// Deadline of each APNs/FCM call and token fetch, in seconds; one that
    /// runs out is retried like a 503 [default: 10]
    #[arg(long, env = "PUSHD_BRIDGE_CALL_TIMEOUT_SECONDS")]
    pub bridge_call_timeout_seconds: Option<u64>,
    /// Log filter, tracing-subscriber syntax [default: info]
    #[arg(long, env = "PUSHD_LOG")]
    pub log: Option<String>,
    /// "text" (for a person) or "json" (one object per line, for a log
    /// collector) [default: text]
    #[arg(long, env = "PUSHD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// OpenTelemetry collector that gets each message's spans over OTLP/gRPC,
    /// e.g. http://127.0.0.1:4317; spans queue in a bounded buffer and are
    /// dropped, never waited for, when it is down [default: off]
    #[arg(long, env = "PUSHD_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Once every listener is bound and serving, pushd writes its bound
    /// addresses here as one JSON object (for scripts and tests) [default: off]
    #[arg(long, env = "PUSHD_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Which [`crate::store::Store`] backend to run on.
#[derive(Debug, Clone)]
pub(crate) enum StoreChoice {
    Sqlite,
    Scylla(crate::store::scylla::ScyllaOptions),
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) store: StoreChoice,
    pub(crate) data_dir: PathBuf,
    pub(crate) public_url: Option<String>,
    pub(crate) max_ttl_seconds: u32,
    pub(crate) retention: RetentionLimits,
    pub(crate) sqlite_synchronous_full: bool,
    pub(crate) live_ack_wait: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_account_devices: usize,
    pub(crate) expiry_interval: Duration,
    pub(crate) drain_timeout: Duration,
    pub(crate) receipt_retention: Duration,
    pub(crate) max_receipt_watchers: usize,
    /// Devices never used are removed this long after they registered; zero = never.
    pub(crate) unused_device_after: Duration,
    pub(crate) cluster: Option<ClusterSettings>,
    pub(crate) bridges: BridgeSettings,
    pub(crate) security: SecuritySettings,
    pub(crate) connections: ConnectionSettings,
    pub log: String,
    pub log_format: crate::telemetry::LogFormat,
    /// Where traces go; see [`crate::tracing_export`].
    pub otlp_endpoint: Option<String>,
    /// Where to announce the bound addresses once serving; see [`crate::server`].
    pub(crate) ready_file: Option<PathBuf>,
}

impl Settings {
    /// Reads the TOML file named by `--config` (if any) and applies the flags over it.
    pub fn load(cli: Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => Overrides::default(),
        };
        Self::resolve(cli.overrides, file)
    }

    pub fn resolve(flags: Overrides, file: Overrides) -> Result<Self, ConfigError> {
        let bridges = bridge_settings(&flags, &file)?;
        let security = SecuritySettings::resolve(&flags, &file)?;
        let connections = connection_settings(&flags, &file)?;
        let metrics_listen = match flags.metrics_listen.or(file.metrics_listen).as_deref() {
            None => Some(defaults::METRICS_LISTEN),
            Some("off") => None,
            Some(address) => Some(
                address
                    .parse()
                    .map_err(|_| ConfigError::MetricsListen(address.to_owned()))?,
            ),
        };
        let sqlite_sync = flags.sqlite_sync.or(file.sqlite_sync);
        let sqlite_synchronous_full = match sqlite_sync.as_deref().unwrap_or(defaults::SQLITE_SYNC)
        {
            "full" => true,
            "normal" => false,
            other => return Err(ConfigError::SqliteSync(other.to_owned())),
        };
        let log_format = flags.log_format.or(file.log_format);
        let log_format = log_format.as_deref().unwrap_or(defaults::LOG_FORMAT);
        let log_format = crate::telemetry::LogFormat::parse(log_format)
            .ok_or_else(|| ConfigError::LogFormat(log_format.to_owned()))?;
        let max_queued_messages = flags
            .max_queued_messages
            .or(file.max_queued_messages)
            .unwrap_or(defaults::MAX_QUEUED_MESSAGES);
        if max_queued_messages == 0 {
            return Err(ConfigError::Zero("max_queued_messages"));
        }
        let store = match flags.store.or(file.store).as_deref() {
            None => StoreChoice::Sqlite,
            Some(name) if name == defaults::STORE => StoreChoice::Sqlite,
            Some(url) => StoreChoice::Scylla(crate::store::scylla::ScyllaOptions::from_url(url)?),
        };
        let cluster = cluster_settings(
            &store,
            flags.cluster_listen.or(file.cluster_listen),
            flags.cluster_advertise.or(file.cluster_advertise),
            flags
                .cluster_secret
                .or(file.cluster_secret)
                .map(|secret| secret.expose().to_owned()),
        )?;
        Ok(Self {
            cluster,
            bridges,
            store,
            listen: flags.listen.or(file.listen).unwrap_or(defaults::LISTEN),
            metrics_listen,
            data_dir: flags
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(defaults::DATA_DIR)),
            public_url: flags.public_url.or(file.public_url),
            max_ttl_seconds: flags
                .max_ttl_seconds
                .or(file.max_ttl_seconds)
                .unwrap_or(defaults::MAX_TTL_SECONDS),
            retention: RetentionLimits {
                max_messages: max_queued_messages,
                max_bytes: flags
                    .max_queued_bytes
                    .or(file.max_queued_bytes)
                    .unwrap_or(defaults::MAX_QUEUED_BYTES),
            },
            sqlite_synchronous_full,
            live_ack_wait: Duration::from_millis(
                flags
                    .live_ack_wait_ms
                    .or(file.live_ack_wait_ms)
                    .unwrap_or(defaults::LIVE_ACK_WAIT_MS)
                    .min(1_000),
            ),
            handshake_timeout: Duration::from_secs(
                flags
                    .handshake_timeout_seconds
                    .or(file.handshake_timeout_seconds)
                    .unwrap_or(defaults::HANDSHAKE_TIMEOUT_SECONDS),
            ),
            max_account_devices: flags
                .max_account_devices
                .or(file.max_account_devices)
                .unwrap_or(defaults::MAX_ACCOUNT_DEVICES)
                .max(1) as usize,
            expiry_interval: Duration::from_secs(
                flags
                    .expiry_interval_seconds
                    .or(file.expiry_interval_seconds)
                    .unwrap_or(defaults::EXPIRY_INTERVAL_SECONDS)
                    .max(1),
            ),
            drain_timeout: Duration::from_secs(
                flags
                    .drain_seconds
                    .or(file.drain_seconds)
                    .unwrap_or(defaults::DRAIN_SECONDS),
            ),
            receipt_retention: Duration::from_secs(
                flags
                    .receipt_retention_seconds
                    .or(file.receipt_retention_seconds)
                    .unwrap_or(defaults::RECEIPT_RETENTION_SECONDS)
                    .max(1),
            ),
            max_receipt_watchers: flags
                .max_receipt_watchers
                .or(file.max_receipt_watchers)
                .unwrap_or(defaults::MAX_RECEIPT_WATCHERS)
                .max(1),
            unused_device_after: Duration::from_secs(
                flags
                    .unused_device_seconds
                    .or(file.unused_device_seconds)
                    .unwrap_or(defaults::UNUSED_DEVICE_SECONDS),
            ),
            log: flags
                .log
                .or(file.log)
                .unwrap_or_else(|| defaults::LOG.into()),
            log_format,
            otlp_endpoint: flags.otlp_endpoint.or(file.otlp_endpoint),
            ready_file: flags.ready_file.or(file.ready_file),
            security,
            connections,
        })
    }
}

fn read_file(path: &Path) -> Result<Overrides, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| file_error(path, &text, &error))
}

/// Where and what, without the offending line itself: toml quotes it, and
/// the line may hold a secret (`admin_token`, `cluster_secret`).
fn file_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
    let location = match line {
        Some(line) => format!("{} line {line}", path.display()),
        None => path.display().to_string(),
    };
    ConfigError::FileSyntax {
        location,
        message: error.message().to_owned(),
    }
}

#[cfg(test)]
mod tests;
