//! Cluster settings: the internal listener, its advertised address and the
//! shared secret, checked together.

use std::net::SocketAddr;

use super::{ConfigError, StoreChoice};
use crate::cluster::ClusterSettings;

pub(super) fn cluster_settings(
    store: &StoreChoice,
    listen: Option<SocketAddr>,
    advertise: Option<String>,
    secret: Option<String>,
) -> Result<Option<ClusterSettings>, ConfigError> {
    let Some(listen) = listen else {
        return match (advertise, secret) {
            (None, None) => Ok(None),
            _ => Err(ConfigError::ClusterListenMissing),
        };
    };
    if matches!(store, StoreChoice::Sqlite) {
        return Err(ConfigError::ClusterNeedsSharedStore);
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
        return Err(ConfigError::ClusterConsistency(options.consistency));
    }
    let secret = secret.unwrap_or_default();
    if secret.len() < 16 || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ConfigError::ClusterSecret);
    }
    if advertise.is_none() && listen.ip().is_unspecified() {
        return Err(ConfigError::ClusterWildcard(listen));
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

    fn cluster_on(url: &str) -> Result<Option<ClusterSettings>, ConfigError> {
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
                .expect_err("a weak consistency is refused")
                .to_string();
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
