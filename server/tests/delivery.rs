//! Delivery semantics against the real pushd: live, stored, acked, expired,
//! replaced, held back by urgency, refused when full, and kept across SIGKILL.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use push_proto::v1::{self as pb, client_frame, server_frame::Frame};
use support::Setup;
use support::raw::{Senders, decrypt_text, encrypt_for};

fn hello(min_urgency: pb::Urgency) -> pb::Hello {
    pb::Hello {
        presence: pb::Presence::Active as i32,
        min_urgency: min_urgency as i32,
    }
}

#[tokio::test]
async fn live_message_is_delivered_and_decrypts() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let mut stream = device.listen_live(hello(pb::Urgency::Unspecified)).await;
    let receipt = sender
        .send_text(&subscription, "the eagle has landed", 60)
        .await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    let message = stream.next_message().await;
    assert_eq!(message.message_id, receipt.message_id);
    assert_eq!(message.subscription_id, subscription.id);
    assert_eq!(
        decrypt_text(&subscription, &message),
        "the eagle has landed"
    );
}

#[tokio::test]
async fn offline_messages_wait_and_an_ack_removes_exactly_those_acked() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let receipt = sender
            .send_text(&subscription, &format!("message {n}"), 600)
            .await;
        assert_eq!(receipt.outcome(), pb::Outcome::Stored);
        ids.push(receipt.message_id);
    }
    let mut stream = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("listen");
    let backlog = stream.backlog().await;
    assert_eq!(
        backlog
            .iter()
            .map(|m| m.message_id.clone())
            .collect::<Vec<_>>(),
        ids,
        "oldest first, all of them"
    );
    assert_eq!(decrypt_text(&subscription, &backlog[3]), "message 3");
    stream
        .ack(&[ids[0].clone(), ids[2].clone(), ids[4].clone()])
        .await;
    // The next frame round trip proves the ack was read before we leave.
    stream
        .send(client_frame::Frame::Presence(pb::SetPresence {
            presence: pb::Presence::Idle as i32,
        }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    let mut again = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("reconnect");
    let left: Vec<String> = again
        .backlog()
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(left, vec![ids[1].clone(), ids[3].clone()]);
}

#[tokio::test]
async fn every_accepted_message_survives_sigkill() {
    let Setup {
        mut pushd,
        mut device,
        subscription,
        sender: _,
        // Full speed into one subscription: the message rate limits would
        // refuse most of it (they are tested in tests/limits.rs).
    } = Setup::new(&["--subscription-rate", "0", "--device-rate", "0"]).await;
    let body = encrypt_for(&subscription, "durable");
    let sender = Senders::new(&pushd.url).await;
    let authorization = sender.authorization();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (mut client, request) = (
            sender.client.clone(),
            Senders::request(&subscription.endpoint, body.clone(), 3600),
        );
        let authorization = authorization.clone();
        tasks.spawn(async move {
            let mut accepted = Vec::new();
            for _ in 0..200 {
                match client
                    .submit_message(support::raw::with_auth(request.clone(), &authorization))
                    .await
                {
                    Ok(response) => accepted.push(response.into_inner().message_id),
                    Err(_) => break,
                }
            }
            accepted
        });
    }
    // Kill while the senders are mid-flight.
    tokio::time::sleep(Duration::from_millis(400)).await;
    pushd.kill();
    let accepted: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    assert!(
        !accepted.is_empty(),
        "some messages must have been accepted before the kill"
    );
    eprintln!("{} messages accepted before SIGKILL", accepted.len());
    pushd.restart();
    device.reconnect(&pushd.url).await;
    let mut stream = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("listen after restart");
    // A stream carries a bounded amount unacked: the backlog arrives as the
    // device acks what it has (max_stream_unacked_bytes).
    let mut delivered: HashSet<String> = HashSet::new();
    let mut batch: Vec<String> = stream
        .backlog()
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    while !batch.is_empty() {
        stream.ack(&batch).await;
        delivered.extend(batch.drain(..));
        while let Ok(Ok(Some(frame))) =
            tokio::time::timeout(Duration::from_secs(2), stream.next()).await
        {
            if let pb::server_frame::Frame::Message(message) = frame {
                batch.push(message.message_id);
            }
            if batch.len() == 1024 {
                break;
            }
        }
    }
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|id| !delivered.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} accepted messages lost after SIGKILL",
        lost.len(),
        accepted.len()
    );
}

#[tokio::test]
async fn expired_messages_are_never_delivered_and_ttl_zero_is_never_stored() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&["--expiry-interval-seconds", "1"]).await;
    assert_eq!(
        sender
            .send_text(&subscription, "short-lived", 1)
            .await
            .outcome(),
        pb::Outcome::Stored
    );
    assert_eq!(
        sender
            .send_text(&subscription, "now or never", 0)
            .await
            .outcome(),
        pb::Outcome::NotDelivered
    );
    let kept = sender.send_text(&subscription, "kept", 600).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let mut stream = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("listen");
    let backlog: Vec<String> = stream
        .backlog()
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(backlog, vec![kept.message_id]);
    let live = sender.send_text(&subscription, "now", 0).await;
    assert_eq!(live.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&subscription, &stream.next_message().await),
        "now"
    );
}

#[tokio::test]
async fn a_topic_replaces_the_undelivered_message() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let submit = |text: &str, topic: &str| {
        let mut request = Senders::request(
            &subscription.endpoint,
            encrypt_for(&subscription, text),
            600,
        );
        request.topic = topic.into();
        request
    };
    let (first, second, other) = (
        submit("score 1-0", "score"),
        submit("score 2-0", "score"),
        submit("news", "news"),
    );
    sender.submit(first).await.expect("first");
    let second = sender.submit(second).await.expect("second");
    let other = sender.submit(other).await.expect("other topic");
    let mut stream = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("listen");
    let backlog = stream.backlog().await;
    assert_eq!(
        backlog
            .iter()
            .map(|m| m.message_id.clone())
            .collect::<Vec<_>>(),
        vec![second.message_id, other.message_id]
    );
    assert_eq!(decrypt_text(&subscription, &backlog[0]), "score 2-0");
    assert_eq!(backlog[0].topic, "score");
}

#[tokio::test]
async fn low_urgency_waits_until_the_device_lowers_its_threshold() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let mut stream = device.listen_live(hello(pb::Urgency::High)).await;
    let mut low = Senders::request(
        &subscription.endpoint,
        encrypt_for(&subscription, "whenever"),
        600,
    );
    low.urgency = pb::Urgency::Low as i32;
    let low = sender.submit(low).await.expect("low");
    assert_eq!(
        low.outcome(),
        pb::Outcome::Stored,
        "below the threshold it waits"
    );
    let mut high = Senders::request(
        &subscription.endpoint,
        encrypt_for(&subscription, "now!"),
        600,
    );
    high.urgency = pb::Urgency::High as i32;
    let high = sender.submit(high).await.expect("high");
    assert_eq!(high.outcome(), pb::Outcome::Delivered);
    assert_eq!(stream.next_message().await.message_id, high.message_id);
    stream
        .send(client_frame::Frame::MinUrgency(pb::SetMinUrgency {
            min_urgency: pb::Urgency::VeryLow as i32,
        }))
        .await;
    let released = stream.next_message().await;
    assert_eq!(released.message_id, low.message_id);
    assert_eq!(decrypt_text(&subscription, &released), "whenever");
}

#[tokio::test]
async fn a_full_queue_refuses_with_resource_exhausted_and_recovers_after_acks() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&["--max-queued-messages", "3"]).await;
    for _ in 0..3 {
        sender.send_text(&subscription, "fits", 600).await;
    }
    let refused = sender
        .send_text_refused(&subscription, "one too many", 600)
        .await;
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("3 messages"),
        "says why: {}",
        refused.message()
    );
    let mut stream = device
        .listen(hello(pb::Urgency::Unspecified))
        .await
        .expect("listen");
    let backlog = stream.backlog().await;
    assert_eq!(backlog.len(), 3, "the refused message was not stored");
    stream.ack(&[backlog[0].message_id.clone()]).await;
    let body = encrypt_for(&subscription, "one too many");
    let mut accepted = None;
    for _ in 0..50 {
        match sender
            .submit(Senders::request(&subscription.endpoint, body.clone(), 600))
            .await
        {
            Ok(receipt) => {
                accepted = Some(receipt);
                break;
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    let accepted = accepted.expect("room after the ack");
    match stream.next_frame().await {
        Frame::Message(message) => assert_eq!(message.message_id, accepted.message_id),
        other => panic!("expected the new message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_connected_device_that_never_acks_is_bounded_too() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&["--max-queued-messages", "3"]).await;
    let mut stream = device.listen_live(hello(pb::Urgency::Unspecified)).await;
    for n in 0..3 {
        let receipt = sender
            .send_text(&subscription, &format!("live {n}"), 600)
            .await;
        assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
        assert_eq!(stream.next_message().await.message_id, receipt.message_id);
    }
    let refused = sender
        .send_text_refused(&subscription, "unacked backlog is full", 600)
        .await;
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        stream.stays_quiet(Duration::from_millis(300)).await,
        "a refused message never reaches the device"
    );
}
