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
    // Refused rather than warned about: below a quorum a sender's node can
    // miss the route a stream just wrote (and the stream miss the message),
    // so messages wait for a reconnect while the service answers STORED.
    // The one setup where ONE would be safe, a keyspace with a single
    // replica, gets the same behaviour from quorum at no extra cost, so no
    // legitimate setup needs the weaker level.
    if let StoreChoice::Scylla(options) = store
        && !options.reads_see_writes()
    {
        return Err(format!(
            "cluster_listen routes devices through the store, which needs reads that see the latest write: consistency {:?} is below a quorum, so a node can miss where a device is connected and leave its messages waiting; set consistency=quorum (or local_quorum, the default) in the scylla:// URL (with rf=1 a quorum is the single replica and costs nothing more)",
            options.consistency
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scylla::ScyllaOptions;

    fn cluster_on(url: &str) -> Result<Option<ClusterSettings>, String> {
        let store = StoreChoice::Scylla(ScyllaOptions::from_url(url).expect("url"));
        cluster_settings(
            &store,
            Some("127.0.0.1:8071".parse().expect("addr")),
            None,
            Some("0123456789abcdef".into()),
        )
    }

    #[test]
    fn cluster_routing_refuses_a_consistency_below_quorum() {
        for weak in ["one", "local_one"] {
            let error = cluster_on(&format!("scylla://h/ks?consistency={weak}"))
                .expect_err("a weak consistency is refused");
            assert!(error.contains("consistency=quorum"), "{error}");
            assert!(error.contains("cluster_listen"), "{error}");
        }
        for strong in ["quorum", "local_quorum", "each_quorum", "all"] {
            cluster_on(&format!("scylla://h/ks?consistency={strong}")).expect(strong);
        }
        cluster_on("scylla://h/ks").expect("the default (local_quorum) is enough");
        // Without cluster routing one node may read and write at any level.
        let store = StoreChoice::Scylla(
            ScyllaOptions::from_url("scylla://h/ks?consistency=one").expect("url"),
        );
        assert!(
            cluster_settings(&store, None, None, None)
                .expect("no cluster")
                .is_none()
        );
    }
}
