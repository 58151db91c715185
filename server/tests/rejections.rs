//! Bad input gets a specific status with a message a person can act on, and
//! one device's bad frame never disturbs another device.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, client_frame, server_frame::Frame};
use push_sdk::vapid::VapidKey;
use support::raw::{Senders, encrypt_for, now_secs, with_auth};
use support::{Pushd, RawDevice, Setup};
use tonic::Code;

fn hello() -> pb::Hello {
    pb::Hello::default()
}

#[tokio::test]
async fn a_subscription_with_an_application_server_key_accepts_only_that_sender() {
    let pushd = Pushd::start(&[]);
    let mut device = RawDevice::register(&pushd.url).await;
    let mut owner = Senders::new(&pushd.url).await;
    let subscription = device.subscribe(Some(owner.key.public_key_raw())).await;
    let mut stranger = Senders::new(&pushd.url).await;
    let body = encrypt_for(&subscription, "hi");
    let refused = stranger
        .submit(Senders::request(&subscription.endpoint, body.clone(), 60))
        .await
        .expect_err("wrong key");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("application server key"));
    owner
        .submit(Senders::request(&subscription.endpoint, body, 60))
        .await
        .expect("the right key is accepted");
}

#[tokio::test]
async fn missing_forged_expired_and_misaddressed_vapid_tokens_are_unauthenticated() {
    let Setup {
        pushd: _pushd,
        device: _,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let request = Senders::request(&subscription.endpoint, encrypt_for(&subscription, "x"), 60);
    let unsigned = sender
        .client
        .submit_message(request.clone())
        .await
        .expect_err("no VAPID");
    assert_eq!(unsigned.code(), Code::Unauthenticated);
    assert!(
        unsigned.message().contains("vapid t="),
        "tells the header format: {}",
        unsigned.message()
    );

    let key = &sender.key;
    let cases = [
        (
            "expired",
            key.authorization_header(
                &key.sign(&sender.audience, "mailto:a@example.com", now_secs() - 600)
                    .expect("sign"),
            ),
        ),
        (
            "wrong audience",
            key.authorization_header(
                &key.sign(
                    "https://elsewhere.example",
                    "mailto:a@example.com",
                    now_secs() + 600,
                )
                .expect("sign"),
            ),
        ),
        (
            "too far ahead",
            key.authorization_header(
                &key.sign(
                    &sender.audience,
                    "mailto:a@example.com",
                    now_secs() + 3 * 86_400,
                )
                .expect("sign"),
            ),
        ),
        (
            "no contact",
            key.authorization_header(
                &key.sign(&sender.audience, "someone", now_secs() + 600)
                    .expect("sign"),
            ),
        ),
    ];
    for (case, authorization) in cases {
        let status = sender
            .client
            .submit_message(with_auth(request.clone(), &authorization))
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
    }
    // A token signed by one key but presented with another key.
    let other = VapidKey::generate().expect("key");
    let jwt = other
        .sign(&sender.audience, "mailto:a@example.com", now_secs() + 600)
        .expect("sign");
    let forged = format!("vapid t={jwt}, k={}", key.public_key_b64());
    let status = sender
        .client
        .submit_message(with_auth(request, &forged))
        .await
        .expect_err("forged");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status.message().contains("signature"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn unknown_removed_and_malformed_endpoints() {
    let Setup {
        pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let body = encrypt_for(&subscription, "x");
    let unknown = format!("{}/push/AAAAAAAAAAAAAAAAAAAAAA", pushd.url);
    let status = sender
        .submit(Senders::request(&unknown, body.clone(), 60))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = sender
        .submit(Senders::request("not an endpoint", body.clone(), 60))
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    // The bare token works as well as the URL.
    let token = subscription
        .endpoint
        .rsplit('/')
        .next()
        .expect("token")
        .to_string();
    sender
        .submit(Senders::request(&token, body.clone(), 60))
        .await
        .expect("bare token");
    let unsubscribe = pb::UnsubscribeRequest {
        subscription_id: subscription.id.clone(),
    };
    device
        .client
        .unsubscribe(with_auth(unsubscribe.clone(), &device.bearer()))
        .await
        .expect("unsubscribe");
    let status = sender
        .submit(Senders::request(&subscription.endpoint, body, 60))
        .await
        .expect_err("removed");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "removed subscriptions answer NOT_FOUND: {status:?}"
    );
    let again = device
        .client
        .unsubscribe(with_auth(unsubscribe, &device.bearer()))
        .await
        .expect_err("twice");
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn malformed_payloads_topics_and_urgencies_are_invalid_arguments() {
    let Setup {
        pushd: _pushd,
        device: _,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let good = encrypt_for(&subscription, "fine");
    let mut oversized = good.clone();
    oversized.resize(5_000, 0);
    let mut bad_key_id = good.clone();
    bad_key_id[20] = 0;
    let cases: Vec<(&str, pb::SubmitMessageRequest, &str)> = vec![
        (
            "empty",
            Senders::request(&subscription.endpoint, vec![], 60),
            "empty",
        ),
        (
            "garbage",
            Senders::request(&subscription.endpoint, b"plaintext!".to_vec(), 60),
            "too short",
        ),
        (
            "oversized",
            Senders::request(&subscription.endpoint, oversized, 60),
            "limit is 4096",
        ),
        (
            "key id",
            Senders::request(&subscription.endpoint, bad_key_id, 60),
            "key id",
        ),
        (
            "topic",
            pb::SubmitMessageRequest {
                topic: "no spaces allowed".into(),
                ..Senders::request(&subscription.endpoint, good.clone(), 60)
            },
            "topic",
        ),
        (
            "long topic",
            pb::SubmitMessageRequest {
                topic: "a".repeat(33),
                ..Senders::request(&subscription.endpoint, good.clone(), 60)
            },
            "32",
        ),
        (
            "urgency",
            pb::SubmitMessageRequest {
                urgency: 9,
                ..Senders::request(&subscription.endpoint, good.clone(), 60)
            },
            "urgency",
        ),
    ];
    for (case, request, says) in cases {
        let status = sender.submit(request).await.expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert!(
            status.message().contains(says),
            "{case}: {:?} should mention {says:?}",
            status.message()
        );
    }
    let capped = sender.send_text(&subscription, "long ttl", u32::MAX).await;
    assert_eq!(
        capped.ttl_seconds,
        28 * 24 * 3600,
        "TTL is lowered to the maximum and reported"
    );
}

#[tokio::test]
async fn device_calls_need_a_valid_credential_and_stay_within_the_device() {
    let pushd = Pushd::start(&[]);
    let mut alice = RawDevice::register(&pushd.url).await;
    let subscription = alice.subscribe(None).await;
    let mut mallory = RawDevice::register(&pushd.url).await;
    let list = pb::ListSubscriptionsRequest {};
    let status = alice
        .client
        .list_subscriptions(list)
        .await
        .expect_err("no credential");
    assert_eq!(status.code(), Code::Unauthenticated);
    let forged = format!("Bearer {}.{}", alice.device_id, "A".repeat(43));
    let status = alice
        .client
        .list_subscriptions(with_auth(pb::ListSubscriptionsRequest {}, &forged))
        .await
        .expect_err("wrong secret");
    assert_eq!(status.code(), Code::Unauthenticated);
    let listed = alice
        .client
        .list_subscriptions(with_auth(pb::ListSubscriptionsRequest {}, &alice.bearer()))
        .await
        .expect("list");
    assert_eq!(listed.into_inner().subscriptions.len(), 1);
    let theirs = mallory
        .client
        .list_subscriptions(with_auth(
            pb::ListSubscriptionsRequest {},
            &mallory.bearer(),
        ))
        .await
        .expect("list");
    assert!(theirs.into_inner().subscriptions.is_empty());
    let steal = pb::UnsubscribeRequest {
        subscription_id: subscription.id.clone(),
    };
    let status = mallory
        .client
        .unsubscribe(with_auth(steal, &mallory.bearer()))
        .await
        .expect_err("not theirs");
    assert_eq!(status.code(), Code::NotFound);

    // Mallory acks Alice's message id: Alice still gets it.
    let mut sender = Senders::new(&pushd.url).await;
    let receipt = sender.send_text(&subscription, "for alice", 600).await;
    let mut mallory_stream = mallory.listen(hello()).await.expect("listen");
    mallory_stream.backlog().await;
    mallory_stream
        .ack(std::slice::from_ref(&receipt.message_id))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut alice_stream = alice.listen(hello()).await.expect("listen");
    let backlog = alice_stream.backlog().await;
    assert_eq!(backlog.len(), 1);
    assert_eq!(backlog[0].message_id, receipt.message_id);
}

#[tokio::test]
async fn bad_frames_get_errors_and_a_broken_stream_does_not_touch_others() {
    let pushd = Pushd::start(&[]);
    let mut sender = Senders::new(&pushd.url).await;

    // The first frame must be Hello.
    let mut impatient = RawDevice::register(&pushd.url).await;
    let (frames, outbound) = tokio::sync::mpsc::channel(4);
    frames
        .send(pb::ClientFrame {
            frame: Some(client_frame::Frame::Ack(pb::Ack {
                message_ids: vec![],
            })),
        })
        .await
        .expect("queue");
    let request = with_auth(
        tokio_stream::wrappers::ReceiverStream::new(outbound),
        &impatient.bearer(),
    );
    let mut inbound = impatient
        .client
        .listen(request)
        .await
        .expect("stream opens")
        .into_inner();
    let status = inbound.message().await.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    // Recoverable mistakes get a FrameError and the stream goes on.
    let mut steady = RawDevice::register(&pushd.url).await;
    let steady_subscription = steady.subscribe(None).await;
    let mut steady_stream = steady.listen(hello()).await.expect("listen");
    steady_stream.backlog().await;
    for mistake in [
        pb::ClientFrame { frame: None },
        pb::ClientFrame {
            frame: Some(client_frame::Frame::Ack(pb::Ack {
                message_ids: vec!["not-an-id".into()],
            })),
        },
        pb::ClientFrame {
            frame: Some(client_frame::Frame::Hello(hello())),
        },
        pb::ClientFrame {
            frame: Some(client_frame::Frame::MinUrgency(pb::SetMinUrgency {
                min_urgency: 42,
            })),
        },
    ] {
        steady_stream.frames.send(mistake).await.expect("send");
        match steady_stream.next_frame().await {
            Frame::Error(error) => assert!(!error.message.is_empty()),
            other => panic!("expected a FrameError, got {other:?}"),
        }
    }

    // Bytes that are not a ClientFrame at all end only that stream.
    let broken = RawDevice::register(&pushd.url).await;
    let mut broken_inbound = send_undecodable_frame(&pushd.url, &broken).await;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), broken_inbound.message())
            .await
            .expect("answer")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let receipt = sender
        .send_text(&steady_subscription, "still here", 60)
        .await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        steady_stream.next_message().await.message_id,
        receipt.message_id
    );
}

/// A Listen stream whose second frame has field 2 (ack) as a varint, which no
/// `ClientFrame` decoder accepts.
async fn send_undecodable_frame(
    url: &str,
    device: &RawDevice,
) -> tonic::Streaming<pb::ServerFrame> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Bogus {
        #[prost(message, optional, tag = "1")]
        hello: Option<pb::Hello>,
        #[prost(uint64, tag = "2")]
        ack: u64,
    }
    let frames = tokio_stream::iter(vec![
        Bogus {
            hello: Some(hello()),
            ack: 0,
        },
        Bogus {
            hello: None,
            ack: 7,
        },
    ]);
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let request = with_auth(frames, &device.bearer());
    let path = http::uri::PathAndQuery::from_static("/push.v1.Device/Listen");
    let codec = tonic_prost::ProstCodec::<Bogus, pb::ServerFrame>::default();
    grpc.streaming(request, path, codec)
        .await
        .expect("stream opens")
        .into_inner()
}

/// Bytes that are not the call's message are the caller's mistake
/// (`INVALID_ARGUMENT` naming the message), not a server failure (`INTERNAL`),
/// whichever service the call is for.
#[tokio::test]
async fn undecodable_requests_are_invalid_arguments_naming_the_message() {
    use support::abuse::{grpc_frame_of, grpc_request, raw_unary};

    let pushd = Pushd::start(&[]);
    let address = pushd.url.trim_start_matches("http://").to_owned();
    // 'n' (0x6e) opens field 13 with wire type 6, which protobuf does not have.
    let garbage = grpc_frame_of(b"not protobuf at all");
    let sender = Senders::new(&pushd.url).await;
    let sender_authorization = sender.authorization();
    let calls = [
        ("/push.v1.Device/Register", None, "push.v1.RegisterRequest"),
        (
            "/push.v1.Sender/SubmitMessage",
            Some(sender_authorization.as_str()),
            "push.v1.SubmitMessageRequest",
        ),
    ];
    for (path, authorization, message) in calls {
        let request = grpc_request(&address, path, authorization);
        let (status, text) = raw_unary(&pushd, request, garbage.clone()).await;
        assert_eq!(
            status, "3",
            "{path}: INVALID_ARGUMENT expected, got {status}: {text}"
        );
        assert!(text.contains(message), "{path}: {text}");
    }
}
