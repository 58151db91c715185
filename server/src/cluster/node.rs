//! Starting this node's part of a cluster: on the internal listener, join
//! the directory, serve `push.internal.v1.Node`, heartbeat; and leaving.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

use super::{Cluster, Directory, NodeRecord, service, spawn_membership};
use crate::bridges::policy::RoutingPolicy;
use crate::delivery::Hub;

/// Routing between nodes: the internal listener, the address other nodes
/// dial, and the secret every node presents; `config` resolves it.
#[derive(Clone)]
pub(crate) struct ClusterSettings {
    pub(crate) listen: SocketAddr,
    /// None: advertise the bound listen address.
    pub(crate) advertise: Option<String>,
    pub(crate) secret: String,
}

// Hand-written so the secret never lands in logs.
impl std::fmt::Debug for ClusterSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ClusterSettings")
            .field("listen", &self.listen)
            .field("advertise", &self.advertise)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// This node, joined and serving until `leaving` turns true.
pub(crate) struct ClusterNode {
    pub(crate) cluster: Arc<Cluster>,
    membership: JoinHandle<()>,
    internal: JoinHandle<()>,
}

impl ClusterNode {
    /// Serves the internal service on `listener` (bound by the caller to
    /// `settings.listen`).
    pub(crate) async fn start(
        settings: &ClusterSettings,
        listener: TcpListener,
        directory: Arc<dyn Directory>,
        (hub, policy): (Arc<Hub>, RoutingPolicy),
        leaving: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let bound = listener.local_addr()?;
        let node = NodeRecord {
            node_id: uuid::Uuid::now_v7().simple().to_string(),
            address: settings
                .advertise
                .clone()
                .unwrap_or_else(|| bound.to_string()),
        };
        let cluster = Arc::new(Cluster::new(
            node,
            hub.clone(),
            directory,
            &settings.secret,
        )?);
        cluster
            .join()
            .await
            .context("joining the cluster directory")?;
        let mut stop_serving = leaving.clone();
        let node_service = service::guarded(hub, policy, &settings.secret);
        let internal = tokio::spawn(async move {
            let served = tonic::transport::Server::builder()
                .tcp_nodelay(true)
                .add_service(node_service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                    let _ = stop_serving.wait_for(|leaving| *leaving).await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "the internal node service stopped");
            }
        });
        let membership = spawn_membership(cluster.clone(), leaving);
        tracing::info!(
            node_id = %cluster.node().node_id,
            cluster_addr = %bound,
            advertised = %cluster.node().address,
            "joined the cluster"
        );
        Ok(Self {
            cluster,
            membership,
            internal,
        })
    }

    /// Waits until this node has left the directory and stopped serving.
    pub(crate) async fn left(self) {
        let _ = self.membership.await;
        let _ = self.internal.await;
    }
}
