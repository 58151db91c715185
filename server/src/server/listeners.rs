//! The sockets pushd serves on.

use tokio::net::TcpListener;

use super::StartError;
use crate::config::Settings;
use crate::transport;

/// The sockets pushd serves on, bound before [`serve`] is called.
pub struct Listeners {
    /// gRPC, RFC 8030 HTTP and WebSocket, on one port.
    pub public: TcpListener,
    /// Prometheus `/metrics`; None serves none.
    pub metrics: Option<TcpListener>,
    /// The internal node-to-node service; needed when the settings name a cluster.
    pub cluster: Option<TcpListener>,
}

impl Listeners {
    /// Binds the addresses the settings name (`listen`, `metrics_listen`,
    /// `cluster_listen`).
    pub(crate) async fn bind(settings: &Settings) -> Result<Self, StartError> {
        let failed = |what, address| {
            move |source| StartError::Bind {
                what,
                address,
                source,
            }
        };
        let public = transport::bind(settings.listen)
            .map_err(failed("the public listener (listen)", settings.listen))?;
        let metrics = match settings.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(failed("metrics (metrics_listen)", address))?,
            ),
            None => None,
        };
        let cluster = match &settings.cluster {
            Some(cluster) => Some(TcpListener::bind(cluster.listen).await.map_err(failed(
                "the cluster listener (cluster_listen)",
                cluster.listen,
            ))?),
            None => None,
        };
        Ok(Self {
            public,
            metrics,
            cluster,
        })
    }
}
