//! Delivery receipts on the real pushd: a sender that asked for one
//! (`Prefer: respond-async` on HTTP, `receipt` on gRPC) follows its message
//! to acked, expired, cancelled or dropped, through `GET <Location>` and a
//! resumable `WatchReceipts` stream, and never sees another key's messages.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, sender_client::SenderClient};
use support::Setup;
use support::raw::{Senders, encrypt_for, with_auth};
use support::webpush::{Answer, curl};

const ASYNC: [(&str, &str); 3] = [
    ("ttl", "600"),
    ("content-encoding", "aes128gcm"),
    ("prefer", "respond-async"),
];

/// POSTs `text` asking for a receipt; the message URL.
fn send_with_receipt(setup: &Setup, text: &str, headers: &[(&str, &str)]) -> String {
    let authorization = setup.sender.authorization();
    let mut all = vec![("authorization", authorization.as_str())];
    all.extend_from_slice(headers);
    let body = encrypt_for(&setup.subscription, text);
    let endpoint = &setup.subscription.endpoint;
    let answer = curl("POST", endpoint, "--http1.1", &all, Some(&body), None);
    assert_eq!(answer.status, 202, "a receipt was asked for: {answer:?}");
    answer.header("location").expect("Location").to_owned()
}

fn receipt(location: &str, authorization: &str) -> Answer {
    curl(
        "GET",
        location,
        "--http1.1",
        &[("authorization", authorization)],
        None,
        None,
    )
}

fn state_of(answer: &Answer) -> String {
    let json: serde_json::Value = serde_json::from_str(&answer.body).expect("JSON");
    json["state"].as_str().expect("state").to_owned()
}

/// Reads the receipt until it says `wanted` (the keeper looks once a second
/// and leaves receipts younger than two seconds alone), for at most 15 s.
async fn until_state(setup: &Setup, location: &str, wanted: &str) {
    let mut seen = String::new();
    for _ in 0..60 {
        let answer = receipt(location, &setup.sender.authorization());
        assert_eq!(answer.status, 200, "{answer:?}");
        seen = state_of(&answer);
        if seen == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the receipt says {seen:?}, not {wanted:?}");
}

async fn ack_all(setup: &mut Setup) -> usize {
    let ids: Vec<String> = setup
        .device
        .fetch(&[])
        .await
        .into_iter()
        .map(|message| message.message_id)
        .collect();
    let request = pb::AckMessagesRequest {
        message_ids: ids.clone(),
    };
    let bearer = setup.device.bearer();
    setup
        .device
        .client
        .ack_messages(with_auth(request, &bearer))
        .await
        .expect("ack");
    ids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_follows_a_message_to_acked_expired_cancelled_or_dropped() {
    let mut setup = Setup::new(&[]).await;
    let own = setup.sender.authorization();

    let acked = send_with_receipt(&setup, "read me", &ASYNC);
    assert_eq!(state_of(&receipt(&acked, &own)), "accepted");
    assert_eq!(ack_all(&mut setup).await, 1);
    until_state(&setup, &acked, "acked").await;

    let short = [("ttl", "1"), ASYNC[1], ASYNC[2]];
    let expired = send_with_receipt(&setup, "too late", &short);
    until_state(&setup, &expired, "expired").await;

    let cancelled = send_with_receipt(&setup, "never mind", &ASYNC);
    let answer = curl(
        "DELETE",
        &cancelled,
        "--http1.1",
        &[("authorization", &own)],
        None,
        None,
    );
    assert_eq!(answer.status, 204, "{answer:?}");
    assert_eq!(state_of(&receipt(&cancelled, &own)), "cancelled");
    assert!(setup.device.fetch(&[]).await.is_empty(), "never delivered");

    let dropped = send_with_receipt(&setup, "nobody home", &ASYNC);
    setup.device.unsubscribe(&setup.subscription.id).await;
    until_state(&setup, &dropped, "dropped").await;

    // Another key learns nothing; a message sent without a receipt has none.
    let stranger = Senders::new(&setup.pushd.url).await.authorization();
    let refused = receipt(&acked, &stranger);
    assert_eq!(refused.status, 403, "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_receipts_resumes_from_a_cursor_and_shows_only_its_own_key() {
    let mut setup = Setup::new(&[]).await;
    let mut stranger = Senders::new(&setup.pushd.url).await;
    let strangers_watch = watch(&mut stranger, "").await;

    let mut ids = Vec::new();
    for text in ["one", "two"] {
        let sent = submit_with_receipt(&mut setup, text).await;
        assert_eq!(sent.outcome, pb::Outcome::Stored as i32);
        assert!(sent.location.contains("/m/"), "{sent:?}");
        ids.push(sent.message_id);
    }
    let mut first = watch(&mut setup.sender, "").await;
    let mut seen = next_events(&mut first, 2).await;
    assert_eq!(
        seen.iter()
            .map(|event| (event.message_id.clone(), event.state))
            .collect::<Vec<_>>(),
        vec![
            (ids[0].clone(), pb::ReceiptState::Accepted as i32),
            (ids[1].clone(), pb::ReceiptState::Accepted as i32),
        ]
    );
    let cursor = seen.last().expect("event").cursor.clone();
    drop(first);

    // While nobody watches: a third message, and the device acks all three.
    ids.push(submit_with_receipt(&mut setup, "three").await.message_id);
    assert_eq!(ack_all(&mut setup).await, 3);
    let mut resumed = watch(&mut setup.sender, &cursor).await;
    let later = next_events(&mut resumed, 4).await;
    let mut acked: Vec<String> = later
        .iter()
        .filter(|event| event.state == pb::ReceiptState::Acked as i32)
        .map(|event| event.message_id.clone())
        .collect();
    acked.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(acked, expected, "every ack, none missed: {later:?}");
    assert!(
        later
            .iter()
            .any(|event| event.message_id == ids[2]
                && event.state == pb::ReceiptState::Accepted as i32),
        "the message sent while disconnected: {later:?}"
    );
    seen.extend(later);
    let cursors: std::collections::HashSet<_> = seen.iter().map(|event| &event.cursor).collect();
    assert_eq!(cursors.len(), seen.len(), "no event twice");

    let mut strangers_watch = strangers_watch;
    let nothing = tokio::time::timeout(Duration::from_secs(2), strangers_watch.message()).await;
    assert!(
        nothing.is_err(),
        "another key's stream stays empty: {nothing:?}"
    );
}

async fn submit_with_receipt(setup: &mut Setup, text: &str) -> pb::SubmitMessageResponse {
    let body = encrypt_for(&setup.subscription, text);
    let request = pb::SubmitMessageRequest {
        receipt: true,
        ..Senders::request(&setup.subscription.endpoint, body, 600)
    };
    setup.sender.submit(request).await.expect("submit")
}

async fn watch(sender: &mut Senders, after: &str) -> tonic::Streaming<pb::ReceiptEvent> {
    let request = pb::WatchReceiptsRequest {
        after: after.to_owned(),
    };
    let authorization = sender.authorization();
    let mut client: SenderClient<_> = sender.client.clone();
    client
        .watch_receipts(with_auth(request, &authorization))
        .await
        .expect("watch")
        .into_inner()
}

/// The next `count` events, each within 15 s.
async fn next_events(
    stream: &mut tonic::Streaming<pb::ReceiptEvent>,
    count: usize,
) -> Vec<pb::ReceiptEvent> {
    let mut events = Vec::new();
    while events.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(15), stream.message())
            .await
            .unwrap_or_else(|_| panic!("only {events:?} arrived"))
            .expect("stream")
            .expect("open");
        events.push(next);
    }
    events
}
