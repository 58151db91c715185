//! The store and directory conformance suites against a real CQL server (ScyllaDB, or
//! Apache Cassandra as `scripts/test.sh` starts it from deploy/cassandra/).
//!
//! `PUSHD_TEST_CQL` names the node (e.g. `127.0.0.1:9042`). Without it these
//! tests fail rather than pass unseen; run them through `scripts/test.sh`.

use std::sync::Arc;

use pushd::cluster::Directory;
use pushd::store::Store;
use pushd::store::scylla::{ScyllaOptions, ScyllaStore};
use tokio::sync::OnceCell;

fn options() -> ScyllaOptions {
    let node = std::env::var("PUSHD_TEST_CQL").unwrap_or_else(|_| {
        panic!("PUSHD_TEST_CQL is not set: start a CQL node (deploy/cassandra/start.sh) and set it to host:port, or run scripts/test.sh")
    });
    ScyllaOptions::from_url(&format!("scylla://{node}/pushd_conformance?rf=1")).expect("options")
}

/// Creates the keyspace once per test process: concurrent schema changes
/// from every test at once would race in the cluster.
static MIGRATED: OnceCell<()> = OnceCell::const_new();

async fn fresh_store() -> Arc<ScyllaStore> {
    let options = options();
    MIGRATED
        .get_or_init(|| async {
            ScyllaStore::connect(&options, true)
                .await
                .expect("connect and migrate");
        })
        .await;
    // Each test gets its own session on its own runtime; the cases use fresh random ids.
    Arc::new(
        ScyllaStore::connect(&options, false)
            .await
            .expect("connect"),
    )
}

async fn fresh_dyn_store() -> Arc<dyn Store> {
    fresh_store().await
}

async fn fresh_directory() -> Arc<dyn Directory> {
    fresh_store().await
}

pushd::store_conformance_suite!(fresh_dyn_store());
pushd::directory_conformance_suite!(fresh_directory());

#[test]
fn store_urls_parse_and_name_their_problems() {
    let parsed =
        ScyllaOptions::from_url("scylla://10.0.0.1,10.0.0.2:19042/push_prod?rf=3").expect("parse");
    assert_eq!(parsed.nodes, ["10.0.0.1:9042", "10.0.0.2:19042"]);
    assert_eq!(
        (parsed.keyspace.as_str(), parsed.replication_factor),
        ("push_prod", 3)
    );
    let tuned =
        ScyllaOptions::from_url("scylla://h/ks?consistency=quorum&timeout_ms=250").expect("parse");
    assert_eq!(tuned.request_timeout, std::time::Duration::from_millis(250));
    assert!(ScyllaOptions::from_url("scylla://h/ks?consistency=most").is_err());
    assert!(ScyllaOptions::from_url("cassandra://x").is_err());
    assert!(ScyllaOptions::from_url("scylla:///ks").is_err());
    assert!(ScyllaOptions::from_url("scylla://h/bad-name").is_err());
    assert!(ScyllaOptions::from_url("scylla://h/ks?replicas=3").is_err());
}
