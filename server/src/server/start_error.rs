//! Why pushd could not start: one enum for the start-up boundary, each
//! message saying what the operator must change. `main` prints it with its
//! causes (`: `-joined); nothing matches on the variants.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::store::StoreError;
use crate::transport::TlsError;

/// An error of a module whose own error type is not this boundary's
/// concern (the cluster, bridges and identity provider have their own).
pub(super) type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding {what} on {address}: is another process using it? choose a free address")]
    Bind {
        what: &'static str,
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("reading the address {what} is bound to")]
    LocalAddr {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("creating data folder {}: check data_dir and that pushd may write there", .path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("opening {}: check the file is pushd's database and not in use by another pushd", .path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error(
        "connecting to {nodes:?} (keyspace {keyspace}): check the nodes are up and the scylla:// URL in store"
    )]
    Scylla {
        nodes: Vec<String>,
        keyspace: String,
        #[source]
        source: StoreError,
    },
    #[error("reading the {what} from the store")]
    Store {
        what: &'static str,
        #[source]
        source: StoreError,
    },
    #[error("the OS random number generator failed")]
    Random(#[source] openssl::error::ErrorStack),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("joining the cluster: check cluster_listen, cluster_advertise and the store")]
    Cluster(#[source] Cause),
    #[error("settings name a cluster but no cluster listener was given to serve")]
    NoClusterListener,
    #[error("starting the APNs/FCM bridges: check their settings")]
    Bridges(#[source] Cause),
    // The provider's own error says which URL failed.
    #[error("identity provider: check oidc_issuer and oidc_jwks_url can be reached")]
    IdentityProvider(#[source] Cause),
    #[error("building the reflection service")]
    Reflection(#[source] tonic_reflection::server::Error),
    #[error("writing ready_file {}: check its folder exists and pushd may write there", .path.display())]
    ReadyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl StartError {
    /// This error and its causes on one line, for the log.
    pub fn report(&self) -> String {
        let mut report = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            report.push_str(": ");
            report.push_str(&error.to_string());
            cause = error.source();
        }
        report
    }
}
