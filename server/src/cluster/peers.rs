//! Clients for the other nodes' internal service, one HTTP/2 connection per
//! peer, made on first use and kept.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use push_proto::internal::node_client::NodeClient;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// A peer that does not answer within these is treated as gone: the message
/// stays stored and the device gets it when it reconnects.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a peer cannot be called.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClusterError {
    #[error("the cluster secret must be printable ASCII")]
    SecretNotAscii,
    #[error("peer address {address:?}: {source}")]
    PeerAddress {
        address: String,
        source: tonic::transport::Error,
    },
}

pub(crate) struct Peers {
    clients: Mutex<HashMap<String, NodeClient<Channel>>>,
    authorization: MetadataValue<tonic::metadata::Ascii>,
}

impl Peers {
    pub(crate) fn new(secret: &str) -> Result<Self, ClusterError> {
        let authorization = MetadataValue::try_from(format!("Bearer {secret}"))
            .map_err(|_| ClusterError::SecretNotAscii)?;
        Ok(Self {
            clients: Mutex::new(HashMap::new()),
            authorization,
        })
    }

    /// A client for the node listening at `address` (`host:port`).
    pub(crate) fn client(&self, address: &str) -> Result<NodeClient<Channel>, ClusterError> {
        let mut clients = self.clients.lock();
        if let Some(client) = clients.get(address) {
            return Ok(client.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|source| ClusterError::PeerAddress {
                address: address.to_owned(),
                source,
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true);
        let client = NodeClient::new(endpoint.connect_lazy());
        clients.insert(address.to_string(), client.clone());
        Ok(client)
    }

    /// Wraps `message` in a request carrying the cluster secret.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.authorization.clone());
        request
    }

    /// Drops the clients of nodes no longer alive.
    pub(crate) fn retain(&self, live_addresses: &[String]) {
        self.clients
            .lock()
            .retain(|address, _| live_addresses.contains(address));
    }
}
