//! The real pushd on the distributed store (a real CQL node, see
//! tests/store_scylla.rs for `PUSHD_TEST_CQL`): delivery, retention across
//! reconnect, and no accepted message lost to SIGKILL.

mod support;

use std::collections::HashSet;

use push_proto::v1 as pb;
use support::Setup;
use support::raw::decrypt_text;

/// The `--store` value, or None when there is no CQL node (the test skips).
fn store_flag() -> Option<String> {
    support::cql::node().map(|node| format!("scylla://{node}/pushd_e2e?rf=1"))
}

/// One test on purpose: pushd processes migrating one keyspace at the same
/// instant would race each other's schema changes.
#[tokio::test]
async fn pushd_on_a_cql_cluster_delivers_retains_and_survives_sigkill() {
    let Some(store) = store_flag() else {
        return;
    };
    let Setup {
        mut pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&["--store", &store]).await;

    let mut stream = device.listen_live(pb::Hello::default()).await;
    let live = sender.send_text(&subscription, "live over CQL", 600).await;
    assert_eq!(live.outcome(), pb::Outcome::Delivered);
    let message = stream.next_message().await;
    assert_eq!(decrypt_text(&subscription, &message), "live over CQL");
    stream.ack(&[message.message_id]).await;
    // Let the server read the ack before the stream goes away.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stream);

    let mut accepted = Vec::new();
    for n in 0..20 {
        let receipt = sender
            .send_text(&subscription, &format!("stored {n}"), 600)
            .await;
        // The server may not have noticed the dropped stream yet: a message
        // offered to it is stored all the same, so either outcome is durable.
        assert!(
            matches!(
                receipt.outcome(),
                pb::Outcome::Stored | pb::Outcome::Delivered
            ),
            "{receipt:?}"
        );
        accepted.push(receipt.message_id);
    }
    pushd.restart();
    device.reconnect(&pushd.url).await;
    let mut stream = device
        .listen(pb::Hello::default())
        .await
        .expect("listen after SIGKILL");
    let backlog = stream.backlog().await;
    let delivered: HashSet<&String> = backlog.iter().map(|message| &message.message_id).collect();
    assert!(
        accepted.iter().all(|id| delivered.contains(id)),
        "every accepted message survives SIGKILL"
    );
    assert_eq!(
        backlog.len(),
        accepted.len(),
        "the acked live message is gone"
    );
}
