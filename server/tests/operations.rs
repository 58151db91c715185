//! What an operator and an SDK user see: health, reflection, metrics,
//! graceful SIGTERM, one stream per device, and the SDK end to end.

mod support;

use push_proto::v1::{self as pb, server_frame::Frame};
use push_sdk::vapid::VapidKey;
use push_sdk::{DeviceClient, SendOptions, Sender};

use support::{Pushd, RawDevice, Setup};

#[tokio::test]
async fn health_and_reflection_answer() {
    let pushd = Pushd::start(&[]);
    let channel = tonic::transport::Endpoint::from_shared(pushd.url.clone())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["push.v1.Sender", "push.v1.Device"] {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        };
        let status = health
            .check(request)
            .await
            .expect("health")
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected {answer:?}")
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(
        ["push.v1.Sender", "push.v1.Device", "grpc.health.v1.Health"]
            .iter()
            .all(|wanted| names.iter().any(|name| name == wanted)),
        "{names:?}"
    );
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let Setup {
        pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    for _ in 0..3 {
        sender.send_text(&subscription, "counted", 60).await;
    }
    let mut stream = device.listen(pb::Hello::default()).await.expect("listen");
    assert_eq!(stream.backlog().await.len(), 3);
    let text = pushd.metrics();
    assert!(
        text.contains("pushd_messages_accepted_total{front=\"grpc\"} 3"),
        "{text}"
    );
    assert!(text.contains("pushd_messages_stored_total 3"), "{text}");
    assert!(text.contains("pushd_messages_delivered_total 3"), "{text}");
    assert!(text.contains("pushd_live_streams 1"), "{text}");
    assert!(text.contains("pushd_store_commit_seconds"), "{text}");
}

#[tokio::test]
async fn sigterm_tells_streams_to_reconnect_and_exits_cleanly() {
    let mut pushd = Pushd::start(&[]);
    let mut device = RawDevice::register(&pushd.url).await;
    let mut stream = device.listen(pb::Hello::default()).await.expect("listen");
    stream.backlog().await;
    let terminating = tokio::task::spawn_blocking(move || {
        let status = pushd.terminate();
        (pushd, status)
    });
    match stream.next_frame().await {
        Frame::GoAway(go_away) => assert_eq!(go_away.reason(), pb::GoAwayReason::Draining),
        other => panic!("expected GoAway, got {other:?}"),
    }
    drop(stream);
    let (_pushd, status) = terminating.await.expect("join");
    assert!(status.success(), "pushd exited with {status:?}");
}

#[tokio::test]
async fn the_newest_stream_of_a_device_wins() {
    let Setup {
        pushd: _pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let mut old = device
        .listen(pb::Hello::default())
        .await
        .expect("first stream");
    old.backlog().await;
    let mut new = device
        .listen(pb::Hello::default())
        .await
        .expect("second stream");
    new.backlog().await;
    match old.next_frame().await {
        Frame::GoAway(go_away) => assert_eq!(go_away.reason(), pb::GoAwayReason::Replaced),
        other => panic!("expected GoAway, got {other:?}"),
    }
    let receipt = sender.send_text(&subscription, "to the new one", 60).await;
    assert_eq!(new.next_message().await.message_id, receipt.message_id);
}

#[tokio::test]
async fn sdk_device_and_sender_end_to_end() {
    let pushd = Pushd::start(&[]);
    let folder = tempfile::tempdir().expect("temp dir");
    let device = DeviceClient::open(&pushd.url, folder.path().join("device.db"))
        .await
        .expect("open device");
    let vapid = VapidKey::generate().expect("vapid");
    let subscription = device
        .subscribe(Some(&vapid.public_key_raw()))
        .await
        .expect("subscribe");
    let sender = Sender::connect(&pushd.url, vapid, "mailto:ops@example.com")
        .await
        .expect("sender");
    // Sent while offline: stored, then delivered when the device listens.
    let first = sender
        .send(&subscription, b"while you were out", SendOptions::default())
        .await
        .expect("send");
    assert_eq!(first.outcome, pb::Outcome::Stored);

    let mut app = support::sdk::SdkListener::start(&device);
    let got = app.next().await;
    assert_eq!(
        (got.message_id.as_str(), got.payload.as_slice()),
        (first.message_id.as_str(), b"while you were out".as_slice())
    );
    let live = sender
        .send(&subscription, b"live now", SendOptions::default())
        .await
        .expect("send live");
    assert_eq!(live.outcome, pb::Outcome::Delivered);
    let got = app.next().await;
    assert_eq!(got.payload, b"live now");
    app.stop().await;
}
