//! `scylla://` URLs: where the cluster is, which keyspace, what consistency,
//! and optionally TLS to the database (OpenSSL, verifying each node's
//! certificate against its IP address, as the driver does).

use std::path::PathBuf;
use std::time::Duration;

use openssl::error::ErrorStack;
use openssl::ssl::{SslConnector, SslConnectorBuilder, SslFiletype, SslMethod};
use scylla::statement::Consistency;

/// What is wrong with a `scylla://` URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScyllaOptionsError {
    #[error("{0:?} does not start with scylla://")]
    NotScylla(String),
    #[error("keyspace {0:?} must be letters, digits and _ (at most 48)")]
    Keyspace(String),
    #[error("scylla:// needs at least one host")]
    NoHost,
    #[error("{option}={value:?} is not a number")]
    NotANumber { option: &'static str, value: String },
    #[error("consistency={0:?}: use one, quorum, local_quorum, each_quorum, all or local_one")]
    Consistency(String),
    #[error("tls={0:?}: use 1 or 0")]
    Tls(String),
    #[error(
        "unknown scylla:// option {0:?} (known: rf, consistency, timeout_ms, tls, ca, cert, key)"
    )]
    UnknownOption(String),
    #[error("scylla:// cert= and key= go together")]
    CertWithoutKey,
}

/// Why the TLS context for the database could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CqlTlsError {
    #[error("TLS setup: {0}")]
    Setup(#[source] ErrorStack),
    #[error("reading {what} {}: {source}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        source: ErrorStack,
    },
}

/// Where and how to reach the cluster.
#[derive(Debug, Clone)]
pub struct ScyllaOptions {
    /// `host:port` contact points.
    pub nodes: Vec<String>,
    pub keyspace: String,
    /// Used only when pushd creates the keyspace.
    pub replication_factor: u32,
    pub(crate) consistency: Consistency,
    /// Per request; a timed-out write is reported as a failure, never as OK.
    pub request_timeout: Duration,
    /// TLS to the database nodes; None is plaintext.
    pub tls: Option<CqlTls>,
}

/// `tls=1`, or any of `ca=`, `cert=`, `key=`, turns TLS on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CqlTls {
    /// PEM CA bundle the nodes' certificates must chain to; the system's
    /// trusted roots when absent.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for clusters that require them.
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
}

impl CqlTls {
    /// The driver's OpenSSL context: peer verification on (it also checks
    /// each node's certificate against the node's IP address).
    pub(crate) fn connector(&self) -> Result<SslConnectorBuilder, CqlTlsError> {
        let file = |what: &'static str, path: &PathBuf| {
            let path = path.clone();
            move |source| CqlTlsError::File { what, path, source }
        };
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(CqlTlsError::Setup)?;
        if let Some(ca) = &self.ca_file {
            builder.set_ca_file(ca).map_err(file("CA file", ca))?;
        }
        if let Some((cert, key)) = &self.client_cert {
            builder
                .set_certificate_chain_file(cert)
                .map_err(file("client certificate", cert))?;
            builder
                .set_private_key_file(key, SslFiletype::PEM)
                .map_err(file("client key", key))?;
        }
        Ok(builder)
    }
}

impl ScyllaOptions {
    /// Parses `scylla://host1[:port],host2/keyspace?rf=3&consistency=local_quorum&timeout_ms=5000`,
    /// plus `&tls=1&ca=/path/ca.pem[&cert=…&key=…]` for TLS.
    pub fn from_url(url: &str) -> Result<Self, ScyllaOptionsError> {
        let rest = url
            .strip_prefix("scylla://")
            .ok_or_else(|| ScyllaOptionsError::NotScylla(url.to_owned()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, keyspace) = location.split_once('/').unwrap_or((location, "pushd"));
        let keyspace = if keyspace.is_empty() {
            "pushd"
        } else {
            keyspace
        };
        if !keyspace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || keyspace.len() > 48
        {
            return Err(ScyllaOptionsError::Keyspace(keyspace.to_owned()));
        }
        let nodes: Vec<String> = hosts
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| {
                if host.contains(':') {
                    host.to_string()
                } else {
                    format!("{host}:9042")
                }
            })
            .collect();
        if nodes.is_empty() {
            return Err(ScyllaOptionsError::NoHost);
        }
        let mut options = Self {
            nodes,
            keyspace: keyspace.to_string(),
            replication_factor: 3,
            consistency: Consistency::LocalQuorum,
            request_timeout: Duration::from_secs(5),
            tls: None,
        };
        let (mut tls, mut cert, mut key) = (false, None, None);
        let mut ca_file = None;
        let not_a_number = |option: &'static str, value: &str| ScyllaOptionsError::NotANumber {
            option,
            value: value.to_owned(),
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("rf", value)) => {
                    options.replication_factor =
                        value.parse().map_err(|_| not_a_number("rf", value))?;
                }
                Some(("consistency", value)) => options.consistency = consistency(value)?,
                Some(("timeout_ms", value)) => {
                    let millis = value
                        .parse()
                        .map_err(|_| not_a_number("timeout_ms", value))?;
                    options.request_timeout = Duration::from_millis(millis);
                }
                Some(("tls", value)) => {
                    tls = match value {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(ScyllaOptionsError::Tls(value.to_owned())),
                    }
                }
                Some(("ca", path)) => ca_file = Some(PathBuf::from(path)),
                Some(("cert", path)) => cert = Some(PathBuf::from(path)),
                Some(("key", path)) => key = Some(PathBuf::from(path)),
                _ => {
                    return Err(ScyllaOptionsError::UnknownOption(pair.to_owned()));
                }
            }
        }
        let client_cert = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err(ScyllaOptionsError::CertWithoutKey),
        };
        if tls || ca_file.is_some() || client_cert.is_some() {
            options.tls = Some(CqlTls {
                ca_file,
                client_cert,
            });
        }
        Ok(options)
    }
}

impl ScyllaOptions {
    /// Whether every read overlaps every write on at least one replica
    /// (a quorum, or all). Cluster routing depends on it: a stream writes
    /// its route then reads its backlog, a sender's node stores a message
    /// then reads the route, and only overlapping reads guarantee one of
    /// the two sees the other. ONE and LOCAL_ONE do not (except with a
    /// single replica, where a quorum is that same one replica).
    pub(crate) fn reads_see_writes(&self) -> bool {
        matches!(
            self.consistency,
            Consistency::Quorum
                | Consistency::LocalQuorum
                | Consistency::EachQuorum
                | Consistency::All
        )
    }
}

fn consistency(name: &str) -> Result<Consistency, ScyllaOptionsError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "one" => Consistency::One,
        "quorum" => Consistency::Quorum,
        "local_quorum" => Consistency::LocalQuorum,
        "each_quorum" => Consistency::EachQuorum,
        "all" => Consistency::All,
        "local_one" => Consistency::LocalOne,
        other => return Err(ScyllaOptionsError::Consistency(other.to_owned())),
    })
}
