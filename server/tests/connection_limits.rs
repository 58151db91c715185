//! Limits on what one connection may make pushd hold: HTTP/2 streams open
//! at once (`max_streams_per_connection`, advertised in SETTINGS and
//! enforced by the server), and the 64 KiB request limit on every gRPC
//! service, health and reflection included.

mod support;

use std::time::Duration;

use support::Pushd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_holds_at_most_the_configured_streams() {
    let pushd = Pushd::start(&["--max-streams-per-connection", "8"]);
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let (client, mut connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let mut ping = connection.ping_pong().expect("ping");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    // One round trip: the server's SETTINGS (sent first) are in by then.
    ping.ping(h2::Ping::opaque()).await.expect("pong");
    let register = || {
        http::Request::post(format!("http://{address}/push.v1.Device/Register"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request")
    };
    // Streams that send their headers and never finish: each one is a
    // request pushd holds open.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut sender = client.clone().ready().await.expect("a free stream");
        held.push(sender.send_request(register(), false).expect("send"));
    }
    // A complete Register call (an empty message) as the ninth stream: with
    // the server's SETTINGS saying 8, it waits for one of the others to end.
    let mut sender = client.clone().ready().await.expect("queued");
    let (ninth, mut body) = sender.send_request(register(), false).expect("send");
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), true)
        .expect("empty message");
    let mut ninth = Box::pin(ninth);
    let waited = tokio::time::timeout(Duration::from_secs(2), ninth.as_mut()).await;
    assert!(
        waited.is_err(),
        "a ninth stream ran on one connection: {waited:?}"
    );
    let (_, mut first_body) = held.remove(0);
    first_body.send_reset(h2::Reason::CANCEL);
    let answered = tokio::time::timeout(Duration::from_secs(10), ninth)
        .await
        .expect("the ninth runs once a stream is free")
        .expect("response");
    assert_eq!(answered.status(), 200);

    // Another connection is not held up by this one.
    let mut device = support::RawDevice::register(&pushd.url).await;
    device.subscribe(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_refuses_requests_over_64_kib() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let pushd = Pushd::start(&[]);
    let channel = tonic::transport::Channel::from_shared(pushd.url.clone())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    let small = HealthCheckRequest {
        service: "push.v1.Sender".into(),
    };
    let answer = health.check(small).await.expect("health");
    assert_eq!(answer.into_inner().status, 1, "SERVING");
    let huge = HealthCheckRequest {
        service: "x".repeat(100 * 1024),
    };
    let refused = health.check(huge).await.expect_err("100 KiB request");
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");
}
