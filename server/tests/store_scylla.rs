//! The store and directory conformance suites against a real CQL server (ScyllaDB, or
//! Apache Cassandra as `scripts/test.sh` starts it from deploy/cassandra/).
//!
//! `PUSHD_TEST_CQL` names the node (e.g. `127.0.0.1:9042`). Without it these
//! tests skip with a line saying how to run them (and fail instead under
//! `PUSHD_TEST_REQUIRE_CQL=1`, as `scripts/test.sh` sets); see tests/support/cql.rs.

use std::sync::Arc;

use pushd::store::Store;
use pushd::store::scylla::{ScyllaOptions, ScyllaStore};
use tokio::sync::OnceCell;

#[path = "support/cql.rs"]
mod cql;

/// The conformance keyspace, or None without a CQL node.
fn options() -> Option<ScyllaOptions> {
    let node = cql::node()?;
    Some(
        ScyllaOptions::from_url(&format!("scylla://{node}/pushd_conformance?rf=1"))
            .expect("options"),
    )
}

/// Creates the keyspace once per test process: concurrent schema changes
/// from every test at once would race in the cluster.
static MIGRATED: OnceCell<()> = OnceCell::const_new();

async fn fresh_store_on(options: ScyllaOptions) -> Arc<ScyllaStore> {
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

/// A fresh session on the conformance keyspace, or None without a CQL node.
async fn fresh_store() -> Option<Arc<ScyllaStore>> {
    Some(fresh_store_on(options()?).await)
}

// The suites' cases end early (pass) when there is no CQL node: the macro
// awaits this block inside each generated test, so `return` leaves the test.
pushd::store_conformance_suite!({
    let Some(options) = options() else {
        return;
    };
    fresh_store_on(options)
});
pushd::directory_conformance_suite!({
    let Some(options) = options() else {
        return;
    };
    fresh_store_on(options)
});

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
    let tls = ScyllaOptions::from_url("scylla://h/ks?ca=/etc/ca.pem").expect("parse");
    assert_eq!(
        tls.tls.and_then(|tls| tls.ca_file),
        Some("/etc/ca.pem".into())
    );
    assert!(ScyllaOptions::from_url("scylla://h/ks?cert=/c.pem").is_err());
    assert!(ScyllaOptions::from_url("scylla://h/ks?tls=maybe").is_err());
}

/// `PUSHD_TEST_CQL_CA`: the CA of a node started with `start.sh --tls`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_verifies_the_node_certificate() {
    let (Some(node), Some(ca)) = (cql::node(), cql::ca()) else {
        return;
    };
    let trusted = ScyllaOptions::from_url(&format!(
        "scylla://{node}/pushd_conformance?rf=1&tls=1&ca={ca}"
    ))
    .expect("options");
    assert!(trusted.tls.is_some());
    MIGRATED
        .get_or_init(|| async {
            ScyllaStore::connect(&options().expect("PUSHD_TEST_CQL"), true)
                .await
                .expect("migrate");
        })
        .await;
    let store = ScyllaStore::connect(&trusted, false)
        .await
        .expect("TLS with the node's CA connects");
    let device = pushd::domain::DeviceRecord {
        id: pushd::domain::new_device_id(),
        secret_hash: vec![7; 32],
        created_at: 1,
    };
    store.create_device(&device).await.expect("write over TLS");
    assert_eq!(store.device(&device.id).await.expect("read"), Some(device));

    // The system's roots do not include the test CA: the handshake must fail.
    let untrusted =
        ScyllaOptions::from_url(&format!("scylla://{node}/pushd_conformance?rf=1&tls=1"))
            .expect("options");
    let refused = ScyllaStore::connect(&untrusted, false).await;
    assert!(
        refused.is_err(),
        "an unverifiable node certificate is refused"
    );
}

/// A device with one subscription, and a maker of its messages.
async fn queue_of(store: &ScyllaStore) -> (String, impl Fn() -> pushd::domain::QueuedMessage) {
    use pushd::domain::{QueuedMessage, SubscriptionRecord, Urgency, new_message_id, now_millis};
    let device = pushd::domain::DeviceRecord {
        id: pushd::domain::new_device_id(),
        secret_hash: vec![7; 32],
        created_at: now_millis(),
    };
    store.create_device(&device).await.expect("device");
    let subscription = SubscriptionRecord {
        id: pushd::domain::new_subscription_id(),
        device_id: device.id.clone(),
        app_server_key: None,
        created_at: now_millis(),
        account_id: None,
    };
    store
        .create_subscription(&subscription)
        .await
        .expect("subscription");
    let device_id = device.id.clone();
    let message = move || QueuedMessage {
        id: new_message_id(),
        device_id: device.id.clone(),
        subscription_id: subscription.id.clone(),
        topic: None,
        urgency: Urgency::Normal,
        payload: vec![1; 64],
        received_at: now_millis(),
        expires_at: now_millis() + 3_600_000,
    };
    (device_id, message)
}

const ROOMY: pushd::store::Admission =
    pushd::store::Admission::Queue(pushd::store::RetentionLimits {
        max_messages: 10_000,
        max_bytes: 1 << 30,
    });

/// The retention check of one submit reads a bounded number of rows, not
/// one per queued message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_check_does_not_read_the_whole_queue() {
    const QUEUED: usize = 150;
    const MOST_ROWS_PER_CHECK: u64 = 8;
    let Some(store) = fresh_store().await else {
        return;
    };
    let (device_id, message) = queue_of(&store).await;
    let mut ids = Vec::new();
    for _ in 0..QUEUED {
        let queued = message();
        ids.push(queued.id.clone());
        store.enqueue(queued, ROOMY).await.expect("enqueue");
    }
    let before = store.quota_rows_read();
    store.enqueue(message(), ROOMY).await.expect("enqueue");
    let read = store.quota_rows_read() - before;
    assert!(
        read <= MOST_ROWS_PER_CHECK,
        "one check read {read} rows (at most {MOST_ROWS_PER_CHECK})"
    );
    assert_eq!(
        store.ack(&device_id, &ids).await.expect("ack"),
        QUEUED as u64
    );
}

/// Acks leave tombstones in the device's partition of `messages`; a submit
/// after many acks must not read that partition (and its tombstones) at
/// all. Measured by the node itself (Cassandra's per-table read
/// histograms), in a keyspace of this test's own so nothing else reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_after_many_acks_reads_no_tombstones() {
    const ACKED: usize = 150;
    let Some(node) = cql::node() else {
        return;
    };
    let options = ScyllaOptions::from_url(&format!("scylla://{node}/pushd_usage_reads?rf=1"))
        .expect("options");
    let store = ScyllaStore::connect(&options, true)
        .await
        .expect("connect and migrate");
    let probe = scylla::client::session_builder::SessionBuilder::new()
        .known_node(&node)
        .build()
        .await
        .expect("probe session");
    let messages_reads = || async {
        let result = probe
            .query_unpaged(
                "SELECT count, max FROM system_views.tombstones_per_read
                 WHERE keyspace_name = 'pushd_usage_reads' AND table_name = 'messages'",
                (),
            )
            .await
            .expect(
                "this test needs Apache Cassandra 4 or later (system_views.tombstones_per_read)",
            );
        let rows = result.into_rows_result().expect("rows");
        rows.maybe_first_row::<(i64, f64)>()
            .expect("row")
            .unwrap_or((0, 0.0))
    };
    let (device_id, message) = queue_of(&store).await;
    let mut ids = Vec::new();
    for _ in 0..ACKED {
        let queued = message();
        ids.push(queued.id.clone());
        store.enqueue(queued, ROOMY).await.expect("enqueue");
    }
    store.ack(&device_id, &ids).await.expect("ack");
    let (reads_before, _) = messages_reads().await;
    store.enqueue(message(), ROOMY).await.expect("enqueue");
    let (reads_after, most_tombstones) = messages_reads().await;
    assert_eq!(
        reads_after,
        reads_before,
        "the submit read the device's queue ({} reads; the most tombstones one read met: {most_tombstones})",
        reads_after - reads_before
    );
}
