//! Cluster settings: the internal listener, its advertised address and the
//! shared secret, checked together.

use std::net::SocketAddr;

use super::StoreChoice;

/// Routing between nodes; see [`crate::cluster`].
#[derive(Clone)]
pub struct ClusterSettings {
    pub listen: SocketAddr,
    /// None: advertise the bound listen address.
    pub advertise: Option<String>,
    pub secret: String,
}

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

pub(super) fn cluster_settings(
    store: &StoreChoice,
    listen: Option<SocketAddr>,
    advertise: Option<String>,
    secret: Option<String>,
) -> Result<Option<ClusterSettings>, String> {
    let Some(listen) = listen else {
        return match (advertise, secret) {
            (None, None) => Ok(None),
            _ => Err("cluster_advertise and cluster_secret need cluster_listen too".into()),
        };
    };
    if matches!(store, StoreChoice::Sqlite) {
        return Err(
            "cluster_listen needs a store the nodes share: set store to scylla://hosts/keyspace"
                .into(),
        );
    }
    let secret = secret.unwrap_or_default();
    if secret.len() < 16 || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err("cluster_secret must be at least 16 printable ASCII characters, the same on every node (e.g. from `openssl rand -hex 32`)".into());
    }
    if advertise.is_none() && listen.ip().is_unspecified() {
        return Err(format!(
            "cluster_listen {listen} is a wildcard address: set cluster_advertise to the host:port other nodes can dial"
        ));
    }
    Ok(Some(ClusterSettings {
        listen,
        advertise,
        secret,
    }))
}
