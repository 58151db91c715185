//! What an operator and an SDK user see: health, reflection, metrics,
//! graceful SIGTERM, one stream per device, and the SDK end to end.

mod support;

use push_proto::v1::{self as pb, server_frame::Frame};
use push_sdk::vapid::VapidKey;
use push_sdk::{DeviceClient, SendOptions, Sender};

use support::{Pushd, RawDevice, Setup};
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

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
    let names = reflected_services(channel).await;
    assert!(
        ["push.v1.Sender", "push.v1.Device", "grpc.health.v1.Health"]
            .iter()
            .all(|wanted| names.iter().any(|name| name == wanted)),
        "{names:?}"
    );
}

/// The services reflection lists (`grpc.reflection.v1` ListServices).
async fn reflected_services(channel: tonic::transport::Channel) -> Vec<String> {
    let mut answers =
        reflection_answers(channel, MessageRequest::ListServices(String::new())).await;
    let answer = answers
        .message()
        .await
        .expect("answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected {answer:?}")
    };
    list.service
        .into_iter()
        .map(|service| service.name)
        .collect()
}

async fn reflection_answers(
    channel: tonic::transport::Channel,
    request: MessageRequest,
) -> tonic::Streaming<tonic_reflection::pb::v1::ServerReflectionResponse> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner()
}

/// Reflection describes the admin service only where it is served (with
/// an admin token): elsewhere neither its name nor its descriptor.
#[tokio::test]
async fn reflection_lists_the_admin_service_only_where_it_is_served() {
    const ADMIN: &str = "push.admin.v1.Admin";
    for (args, served) in [
        (&[][..], false),
        (&["--admin-token", "test-admin-token-0123456789"][..], true),
    ] {
        let pushd = Pushd::start(args);
        let channel = tonic::transport::Endpoint::from_shared(pushd.url.clone())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        let names = reflected_services(channel.clone()).await;
        assert_eq!(
            names.iter().any(|name| name == ADMIN),
            served,
            "admin served: {served}; listed: {names:?}"
        );
        assert!(
            names.iter().any(|name| name == "push.v1.Device"),
            "{names:?}"
        );
        let mut answers =
            reflection_answers(channel, MessageRequest::FileContainingSymbol(ADMIN.into())).await;
        let described = match answers.message().await {
            Ok(Some(answer)) => matches!(
                answer.message_response,
                Some(MessageResponse::FileDescriptorResponse(_))
            ),
            Ok(None) => false,
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
                false
            }
        };
        assert_eq!(described, served, "admin served: {served}");
    }
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
