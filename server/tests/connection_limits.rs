//! Limits on what a client may make pushd hold: HTTP/2 streams open at once
//! per connection (`max_streams_per_connection`, advertised in SETTINGS and
//! enforced by the server), the 64 KiB request limit on every gRPC service
//! (health and reflection included), the time a TLS handshake or an HTTP
//! push's body may take (`handshake_timeout_seconds`), and receipt streams
//! per node (`max_receipt_watchers`).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_tls_handshake_is_dropped() {
    use tokio::io::AsyncReadExt as _;
    let folder = tempfile::tempdir().expect("temp dir");
    let ca = support::tls::TestCa::new(folder.path());
    let (cert, key) = (
        ca.cert_file.to_str().expect("path"),
        ca.key_file.to_str().expect("path"),
    );
    let pushd = Pushd::start(&[
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--handshake-timeout-seconds",
        "1",
    ]);
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let mut silent = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a connection that never said hello is still open: {closed:?}"
    );
    // The port still serves clients that do finish.
    let https = pushd.url.replacen("http://", "https://", 1);
    support::tls::channel(&https, Some(&ca)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_body_stalls_gets_408() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let pushd = Pushd::start(&["--handshake-timeout-seconds", "1"]);
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let token = "A".repeat(68);
    let head = format!(
        "POST /push/{token} HTTP/1.1\r\nhost: {address}\r\nttl: 60\r\ncontent-encoding: aes128gcm\r\ncontent-length: 100\r\n\r\n0123456789"
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), stalled.read(&mut answer))
        .await
        .expect("pushd answers a stalled body within its deadline")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipt_streams_per_node_are_capped() {
    use push_proto::v1 as pb;
    let pushd = Pushd::start(&["--max-receipt-watchers", "1"]);
    let mut sender = support::raw::Senders::new(&pushd.url).await;
    let watch = |sender: &mut support::raw::Senders| {
        let request =
            support::raw::with_auth(pb::WatchReceiptsRequest::default(), &sender.authorization());
        let mut client = sender.client.clone();
        async move { client.watch_receipts(request).await }
    };
    let first = watch(&mut sender).await.expect("the first stream");
    let refused = watch(&mut sender).await.expect_err("a second stream");
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    drop(first);
    // The permit is freed once pushd sees the stream gone.
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(stream) = watch(&mut sender).await {
            reopened = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reopened.is_some(),
        "a stream could be opened again after the first closed"
    );
}
