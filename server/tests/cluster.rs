//! Several real pushd processes sharing one keyspace on a real CQL node
//! (`PUSHD_TEST_CQL`, see tests/store_scylla.rs): messages cross nodes,
//! the newest stream wins across nodes, a node killed mid-stream loses
//! nothing, SIGTERM sends devices elsewhere and deregisters the node, and
//! the internal service is closed to anyone without the cluster secret.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use push_proto::internal::{self as node_pb, node_client::NodeClient};
use push_proto::v1::{self as pb, server_frame::Frame};
use pushd::cluster::Directory;
use pushd::store::scylla::{ScyllaOptions, ScyllaStore};
use support::raw::{RawStream, Senders, Subscribed, WAIT, decrypt_text, with_auth};
use support::{Pushd, RawDevice};

const SECRET: &str = "test-cluster-secret-0123456789";
/// Every node's endpoints and VAPID audience: the load balancer's URL.
const PUBLIC_URL: &str = "http://push.test";

/// The shared store's URL, or None when there is no CQL node (the test skips).
fn store_url() -> Option<String> {
    support::cql::node().map(|node| format!("scylla://{node}/pushd_cluster?rf=1"))
}

/// Starts `count` nodes one after another (each migrates the keyspace
/// before it listens, so they never race on schema changes); None without
/// a CQL node.
fn start_nodes(count: usize) -> Option<Vec<Pushd>> {
    start_nodes_with(count, &[])
}

fn start_nodes_with(count: usize, extra: &[String]) -> Option<Vec<Pushd>> {
    let store = store_url()?;
    let mut args = vec![
        "--store",
        &store,
        "--cluster-listen",
        "127.0.0.1:0",
        "--cluster-secret",
        SECRET,
        "--public-url",
        PUBLIC_URL,
        "--drain-seconds",
        "5",
    ];
    args.extend(extra.iter().map(String::as_str));
    Some((0..count).map(|_| Pushd::start(&args)).collect())
}

async fn sender_at(node: &Pushd) -> Senders {
    let mut sender = Senders::new(&node.url).await;
    sender.audience = PUBLIC_URL.into();
    sender
}

/// A device registered and subscribed through `node`.
async fn device_at(node: &Pushd) -> (RawDevice, Subscribed) {
    let mut device = RawDevice::register(&node.url).await;
    let subscription = device.subscribe(None).await;
    (device, subscription)
}

async fn stream_at(device: &mut RawDevice, node: &Pushd) -> RawStream {
    device.reconnect(&node.url).await;
    device.listen_live(pb::Hello::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_and_the_newest_stream_wins_across_nodes() {
    let Some(nodes) = start_nodes(3) else {
        return;
    };
    let (mut device, subscription) = device_at(&nodes[0]).await;
    let mut on_b = stream_at(&mut device, &nodes[1]).await;

    let mut sender_a = sender_at(&nodes[0]).await;
    let receipt = sender_a.send_text(&subscription, "from A to B", 600).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered, "forwarded live");
    let message = on_b.next_message().await;
    assert_eq!(message.message_id, receipt.message_id);
    assert_eq!(decrypt_text(&subscription, &message), "from A to B");
    on_b.ack(&[message.message_id]).await;

    // TTL 0 is never stored: it crosses nodes live or not at all.
    let mut sender_c = sender_at(&nodes[2]).await;
    let now_or_never = sender_c.send_text(&subscription, "TTL 0 via C", 0).await;
    assert_eq!(now_or_never.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&subscription, &on_b.next_message().await),
        "TTL 0 via C"
    );

    // The device opens a newer stream on C: B's stream is told why it closes.
    let mut on_c = stream_at(&mut device, &nodes[2]).await;
    match on_b.next_frame().await {
        Frame::GoAway(go_away) => assert_eq!(go_away.reason(), pb::GoAwayReason::Replaced),
        other => panic!("expected GoAway REPLACED on the older stream, got {other:?}"),
    }
    let receipt = sender_a
        .send_text(&subscription, "to the newest", 600)
        .await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    let message = on_c.next_message().await;
    assert_eq!(decrypt_text(&subscription, &message), "to the newest");
    on_c.ack(&[message.message_id]).await;

    // Gone from every node: a message waits in the store and comes with the
    // backlog. (Let the server read the ack before the stream goes away.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(on_c);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = sender_a.send_text(&subscription, "while away", 600).await;
    assert_eq!(stored.outcome(), pb::Outcome::Stored);
    device.reconnect(&nodes[1].url).await;
    let mut again = device.listen(pb::Hello::default()).await.expect("listen");
    let backlog = again.backlog().await;
    let ids: Vec<&String> = backlog.iter().map(|message| &message.message_id).collect();
    assert_eq!(ids, [&stored.message_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_node_holding_a_device_loses_no_accepted_message() {
    let Some(mut nodes) = start_nodes(3) else {
        return;
    };
    let (mut device, subscription) = device_at(&nodes[0]).await;
    let subscription = std::sync::Arc::new(subscription);
    let mut stream = stream_at(&mut device, &nodes[1]).await;
    let mut sender = sender_at(&nodes[0]).await;

    let total = 200;
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::unbounded_channel();
    let sending = tokio::spawn(async move {
        for n in 0..total {
            let receipt = sender
                .send_text(&subscription, &format!("message {n}"), 600)
                .await;
            assert!(
                matches!(
                    receipt.outcome(),
                    pb::Outcome::Delivered | pb::Outcome::Stored
                ),
                "{receipt:?}"
            );
            accepted_tx.send(receipt.message_id).expect("record");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    let mut received = HashSet::new();
    // Take (and ack) part of the stream on B, then kill B without warning.
    while received.len() < 40 {
        let message = stream.next_message().await;
        stream.ack(std::slice::from_ref(&message.message_id)).await;
        received.insert(message.message_id);
    }
    nodes[1].kill();
    drop(stream);

    // The device finds another node, as a client behind a load balancer would.
    device.reconnect(&nodes[2].url).await;
    let mut stream = device
        .listen(pb::Hello::default())
        .await
        .expect("listen on C");
    sending.await.expect("every submission was accepted");
    let mut accepted = HashSet::new();
    while let Ok(id) = accepted_rx.try_recv() {
        accepted.insert(id);
    }
    assert_eq!(accepted.len(), total);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !accepted.is_subset(&received) {
        let frame = tokio::time::timeout_at(deadline, stream.next_frame())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} accepted messages never arrived",
                    accepted.difference(&received).count()
                )
            });
        if let Frame::Message(message) = frame {
            stream.ack(std::slice::from_ref(&message.message_id)).await;
            received.insert(message.message_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sends_devices_elsewhere_and_deregisters_the_node() {
    let Some(mut nodes) = start_nodes(2) else {
        return;
    };
    let (mut device, subscription) = device_at(&nodes[0]).await;
    let mut on_b = stream_at(&mut device, &nodes[1]).await;
    let leaving = nodes[1].cluster.clone().expect("cluster node");
    let directory = ScyllaStore::connect(
        &ScyllaOptions::from_url(&store_url().expect("nodes started")).expect("url"),
        false,
    )
    .await
    .expect("connect");
    let listed = directory.live_nodes().await.expect("nodes");
    assert!(listed.iter().any(|node| node.node_id == leaving.node_id));

    let status = {
        let node = &mut nodes[1];
        let terminate = tokio::task::spawn_blocking({
            let pid = node.pid();
            move || {
                std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
            }
        });
        terminate.await.expect("join").expect("kill -TERM");
        match tokio::time::timeout(WAIT, on_b.next_frame()).await {
            Ok(Frame::GoAway(go_away)) => {
                assert_eq!(go_away.reason(), pb::GoAwayReason::Draining);
            }
            other => panic!("expected GoAway DRAINING, got {other:?}"),
        }
        node.terminate()
    };
    assert!(
        status.success(),
        "pushd exits cleanly after draining: {status}"
    );
    let listed = directory.live_nodes().await.expect("nodes");
    assert!(
        !listed.iter().any(|node| node.node_id == leaving.node_id),
        "a node that shut down is no longer listed"
    );

    let mut on_a = stream_at(&mut device, &nodes[0]).await;
    let mut sender = sender_at(&nodes[0]).await;
    let receipt = sender.send_text(&subscription, "after the move", 600).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&subscription, &on_a.next_message().await),
        "after the move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_service_needs_the_secret_stays_off_the_public_port_and_evicts() {
    let Some(nodes) = start_nodes(1) else {
        return;
    };
    let internal = format!(
        "http://{}",
        nodes[0].cluster.as_ref().expect("cluster node").address
    );
    let mut client = NodeClient::connect(internal).await.expect("connect");
    let request = || node_pb::EvictRequest {
        device_id: "nobody".into(),
        claimed_at_micros: 1,
        revoked: false,
    };
    for authorization in ["", "Bearer wrong-secret-0123456789", "Basic x"] {
        let refused = client
            .evict(with_auth(request(), authorization))
            .await
            .expect_err("refused");
        assert_eq!(
            refused.code(),
            tonic::Code::Unauthenticated,
            "{authorization:?}"
        );
    }
    let allowed = client
        .evict(with_auth(request(), &format!("Bearer {SECRET}")))
        .await
        .expect("the right secret is accepted");
    assert!(!allowed.into_inner().closed);

    // A device that moved on: its stream here closes, and the answer counts
    // what it held unacked so the new stream knows to re-read its backlog.
    let (mut device, subscription) = device_at(&nodes[0]).await;
    let mut stream = stream_at(&mut device, &nodes[0]).await;
    let mut sender = sender_at(&nodes[0]).await;
    sender.send_text(&subscription, "never acked", 600).await;
    stream.next_message().await;
    let newer = pushd::domain::now_micros() + 1_000_000;
    let evicted = client
        .evict(with_auth(
            node_pb::EvictRequest {
                device_id: device.device_id.clone(),
                claimed_at_micros: newer,
                revoked: false,
            },
            &format!("Bearer {SECRET}"),
        ))
        .await
        .expect("evict")
        .into_inner();
    assert!(evicted.closed);
    assert_eq!(evicted.unacked, 1);
    match stream.next_frame().await {
        Frame::GoAway(go_away) => assert_eq!(go_away.reason(), pb::GoAwayReason::Replaced),
        other => panic!("expected GoAway REPLACED, got {other:?}"),
    }

    let mut public = NodeClient::connect(nodes[0].url.clone())
        .await
        .expect("connect");
    let status = public
        .evict(with_auth(request(), &format!("Bearer {SECRET}")))
        .await
        .expect_err("not served publicly");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_device_on_another_node_is_reached_through_its_bridge() {
    let google = support::google::MockGoogle::start(false).await;
    let Some(nodes) = start_nodes_with(2, &google.pushd_args()) else {
        return;
    };
    let (mut device, subscription) = device_at(&nodes[0]).await;
    device.set_fcm_bridge("tok-cluster").await;
    device.reconnect(&nodes[1].url).await;
    let away = pb::Hello {
        presence: pb::Presence::Away as i32,
        ..pb::Hello::default()
    };
    let mut on_b = device.listen_live(away).await;
    let mut sender = sender_at(&nodes[0]).await;
    let receipt = sender.send_text(&subscription, "wake the phone", 600).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Stored);
    let sends = google.wait_for_sends(1).await;
    assert_eq!(sends[0].data()["id"], receipt.message_id);
    assert!(
        on_b.stays_quiet(Duration::from_millis(400)).await,
        "B left it to the bridge"
    );

    on_b.send(push_proto::v1::client_frame::Frame::Presence(
        pb::SetPresence {
            presence: pb::Presence::Active as i32,
        },
    ))
    .await;
    // Back in use: the waiting message comes on the stream now.
    assert_eq!(on_b.next_message().await.message_id, receipt.message_id);
    let live = sender.send_text(&subscription, "on screen", 600).await;
    assert_eq!(
        live.outcome(),
        pb::Outcome::Delivered,
        "forwarded to the active stream"
    );
    assert_eq!(
        decrypt_text(&subscription, &on_b.next_message().await),
        "on screen"
    );
    assert_eq!(google.sends().len(), 1, "never both");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_spans_nodes_and_removal_closes_a_stream_on_another_node() {
    use push_sdk::vapid::VapidKey;
    use push_sdk::{DeviceClient, ListenEnd, SendOptions, Sender};
    use support::sdk::SdkListener;

    let Some(nodes) = start_nodes(2) else {
        return;
    };
    let folder = tempfile::tempdir().expect("temp dir");
    let phone = DeviceClient::open(&nodes[0].url, folder.path().join("phone.db"))
        .await
        .expect("phone");
    let laptop = DeviceClient::open(&nodes[1].url, folder.path().join("laptop.db"))
        .await
        .expect("laptop");
    let account_id = phone.create_account("Phone").await.expect("create on A");
    laptop
        .join_account(&account_id, "Laptop")
        .await
        .expect("join on B");
    phone
        .approve_device(laptop.device_id())
        .await
        .expect("approve on A");
    let vapid = VapidKey::generate().expect("vapid");
    let info = phone
        .subscribe_for_account(None, Some(&vapid.public_key_raw()))
        .await
        .expect("subscribe on A");
    let mut on_laptop = SdkListener::start(&laptop);
    let mut on_phone = SdkListener::start(&phone);

    let backend = Sender::connect(&nodes[0].url, vapid, "mailto:ops@example.com")
        .await
        .expect("sender on A");
    let receipt = backend
        .send(&info, b"to both, across nodes", SendOptions::default())
        .await
        .expect("send");
    assert_eq!(receipt.devices, 2);
    // The laptop had no keys yet: it fetches them when the message comes.
    assert_eq!(on_laptop.next().await.payload, b"to both, across nodes");
    assert_eq!(on_phone.next().await.payload, b"to both, across nodes");

    phone
        .remove_device(laptop.device_id())
        .await
        .expect("remove on A");
    let ended = on_laptop.end().await.expect("laptop's listen on B ended");
    assert!(matches!(ended, ListenEnd::Revoked), "got {ended:?}");
    on_phone.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_follow_a_message_across_nodes() {
    let Some(nodes) = start_nodes(3) else {
        return;
    };
    let (mut device, subscription) = device_at(&nodes[0]).await;
    let mut on_b = stream_at(&mut device, &nodes[1]).await;
    let mut sender = sender_at(&nodes[0]).await;
    let request = pb::SubmitMessageRequest {
        receipt: true,
        ..Senders::request(
            &subscription.endpoint,
            support::raw::encrypt_for(&subscription, "followed"),
            600,
        )
    };
    let sent = sender.submit(request).await.expect("submit");
    assert_eq!(
        sent.outcome(),
        pb::Outcome::Delivered,
        "forwarded live to B"
    );
    let message = on_b.next_message().await;
    on_b.ack(&[message.message_id]).await;

    // The same key watches on a third node: the store is the log.
    let mut watcher = sender_at(&nodes[2]).await;
    let authorization = watcher.authorization();
    watcher.key = sender.key;
    let authorization_of_sender = watcher.authorization();
    assert_ne!(authorization, authorization_of_sender);
    let mut events = watcher
        .client
        .watch_receipts(with_auth(
            pb::WatchReceiptsRequest::default(),
            &authorization_of_sender,
        ))
        .await
        .expect("watch")
        .into_inner();
    let mut states = Vec::new();
    while !states.contains(&pb::ReceiptState::Acked) {
        let event = tokio::time::timeout(Duration::from_secs(20), events.message())
            .await
            .unwrap_or_else(|_| panic!("only {states:?} arrived"))
            .expect("stream")
            .expect("open");
        assert_eq!(event.message_id, sent.message_id);
        states.push(event.state());
    }
    assert_eq!(
        states.first(),
        Some(&pb::ReceiptState::Delivered),
        "{states:?}"
    );
}
