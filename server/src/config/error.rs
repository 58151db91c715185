//! Why settings were refused: each message names the setting and says what
//! to set instead. pushd prints it and exits before serving anything.

use std::net::SocketAddr;

use scylla::statement::Consistency;

use crate::store::scylla::ScyllaOptionsError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    /// Where and what, without the offending line itself: toml quotes it,
    /// and the line may hold a secret (`admin_token`, `cluster_secret`).
    #[error("{location}: {message}")]
    FileSyntax { location: String, message: String },
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("metrics_listen {0:?} is not an address or \"off\"")]
    MetricsListen(String),
    #[error("sqlite_sync is {0:?}; use \"full\" or \"normal\"")]
    SqliteSync(String),
    #[error("log_format is {0:?}; use \"text\" or \"json\"")]
    LogFormat(String),
    #[error(transparent)]
    Store(#[from] ScyllaOptionsError),
    #[error("set both tls_cert_file and tls_key_file, or neither")]
    TlsPair,
    #[error("admin_token must be at least 16 characters (e.g. openssl rand -hex 32)")]
    AdminTokenTooShort,
    #[error("oidc_issuer needs oidc_audience: the client id the provider issues tokens for")]
    OidcAudienceMissing,
    #[error("{setting} {url:?} is not a URL: {source}")]
    ProviderUrl {
        setting: &'static str,
        url: String,
        source: http::uri::InvalidUri,
    },
    #[error(
        "{setting} {url:?} is plaintext http: anyone on the path to the provider could \
         substitute its signing keys; use its https:// URL (http:// is accepted only for \
         loopback hosts: 127.0.0.0/8, ::1, localhost)"
    )]
    ProviderUrlPlaintext { setting: &'static str, url: String },
    #[error(
        "{setting} {url:?} must be an https:// URL with a host, e.g. https://accounts.example.com"
    )]
    ProviderUrlNotHttps { setting: &'static str, url: String },
    #[error("set apns_key_file (token) or apns_cert_file (certificate), not both")]
    ApnsKeyAndCertificate,
    #[error(
        "apns_key_file needs apns_key_id and apns_team_id (both in your Apple developer account)"
    )]
    ApnsKeyIncomplete,
    #[error("bridge_workers must be at least 1 (provider calls in flight at once)")]
    NoBridgeWorkers,
    #[error("cluster_advertise and cluster_secret need cluster_listen too")]
    ClusterListenMissing,
    #[error("cluster_listen needs a store the nodes share: set store to scylla://hosts/keyspace")]
    ClusterNeedsSharedStore,
    #[error(
        "cluster_listen routes devices through the store, which needs reads that see the latest write: consistency {0:?} is below a quorum, so a node can miss where a device is connected and leave its messages waiting; set consistency=quorum (or local_quorum, the default) in the scylla:// URL (with rf=1 a quorum is the single replica and costs nothing more)"
    )]
    ClusterConsistency(Consistency),
    #[error(
        "cluster_secret must be at least 16 printable ASCII characters, the same on every node (e.g. from `openssl rand -hex 32`)"
    )]
    ClusterSecret,
    #[error(
        "cluster_listen {0} is a wildcard address: set cluster_advertise to the host:port other nodes can dial"
    )]
    ClusterWildcard(SocketAddr),
}
