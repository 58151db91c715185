//! Two pushd nodes on a 3-node Cassandra cluster at RF=3, QUORUM: one
//! Cassandra node is stopped mid-test and registering, subscribing,
//! sending, forwarding and backlog reads all carry on.
//!
//! Needs the 3-node cluster (`deploy/cassandra/start.sh --nodes 3`) and
//! `PUSHD_TEST_CQL_CLUSTER` naming its hosts; it stops node 3 itself.
//! `scripts/test.sh` starts the cluster and runs this with `--ignored`
//! after the single-node suites.

mod support;

use std::time::Duration;

use push_proto::v1 as pb;
use support::raw::{Senders, decrypt_text};
use support::{Pushd, RawDevice};

const PUBLIC_URL: &str = "http://push.test";

fn start_node(store: &str) -> Pushd {
    Pushd::start(&[
        "--store",
        store,
        "--cluster-listen",
        "127.0.0.1:0",
        "--cluster-secret",
        "quorum-test-secret-0123456789",
        "--public-url",
        PUBLIC_URL,
    ])
}

fn stop_cassandra_node(node: u32) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/cassandra/stop.sh");
    let status = std::process::Command::new(script)
        .args(["--node", &node.to_string()])
        .status()
        .expect("run stop.sh");
    assert!(status.success(), "stop.sh --node {node}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the 3-node Cassandra cluster: scripts/test.sh starts it and runs this with --ignored"]
async fn service_continues_at_quorum_with_one_cassandra_node_stopped() {
    let hosts = std::env::var("PUSHD_TEST_CQL_CLUSTER").unwrap_or_else(|_| {
        panic!("PUSHD_TEST_CQL_CLUSTER is not set: start deploy/cassandra/start.sh --nodes 3 and set it to 127.0.0.1,127.0.0.2,127.0.0.3")
    });
    let store = format!("scylla://{hosts}/pushd_quorum?rf=3&consistency=quorum");
    let (a, b) = (start_node(&store), start_node(&store));
    let mut sender = Senders::new(&a.url).await;
    sender.audience = PUBLIC_URL.into();

    let mut online = RawDevice::register(&a.url).await;
    let online_subscription = online.subscribe(None).await;
    online.reconnect(&b.url).await;
    let mut stream = online.listen_live(pb::Hello::default()).await;
    let before = sender.send_text(&online_subscription, "before", 600).await;
    assert_eq!(before.outcome(), pb::Outcome::Delivered);
    let first = stream.next_message().await;
    stream.ack(&[first.message_id]).await;

    stop_cassandra_node(3);

    // New records (lightweight transactions need a quorum too) ...
    let mut offline = RawDevice::register(&b.url).await;
    let offline_subscription = offline.subscribe(None).await;
    // ... live delivery across pushd nodes, and stored messages.
    let mut stored = Vec::new();
    for n in 0..20 {
        let live = sender
            .send_text(&online_subscription, &format!("live {n}"), 600)
            .await;
        assert_eq!(live.outcome(), pb::Outcome::Delivered, "message {n}");
        let message = stream.next_message().await;
        assert_eq!(
            decrypt_text(&online_subscription, &message),
            format!("live {n}")
        );
        stream.ack(&[message.message_id]).await;
        let kept = sender
            .send_text(&offline_subscription, &format!("kept {n}"), 600)
            .await;
        assert_eq!(kept.outcome(), pb::Outcome::Stored, "message {n}");
        stored.push(kept.message_id);
    }
    offline.reconnect(&a.url).await;
    let mut later = offline
        .listen(pb::Hello::default())
        .await
        .expect("listen with a Cassandra node down");
    let backlog = later.backlog().await;
    let ids: Vec<String> = backlog
        .into_iter()
        .map(|message| message.message_id)
        .collect();
    assert_eq!(ids, stored);
    tokio::time::sleep(Duration::from_millis(100)).await;
}
