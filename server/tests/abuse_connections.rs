//! Issue 12, items 1 and 2: what a client with no credentials can make the
//! public port hold. Each test plays the abusive client against the real
//! pushd, asserts the resource is let go within a bounded wait, and checks
//! that a legitimate client is served meanwhile.

mod support;

use std::time::Duration;

use support::abuse::{self, closed_by_peer, connect_from, registers_from};
use support::{Pushd, RawDevice};
use tokio::io::AsyncWriteExt as _;

fn address(pushd: &Pushd) -> String {
    pushd.url.trim_start_matches("http://").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_says_nothing_is_closed_after_the_handshake_timeout() {
    let pushd = Pushd::start(&["--handshake-timeout-seconds", "1"]);
    let address = address(&pushd);
    let mut silent = connect_from(&address, "127.0.0.1", None).await;
    let mut dribbling = connect_from(&address, "127.0.0.1", None).await;
    // Half of the HTTP/2 preface, then nothing.
    dribbling.write_all(b"PRI * HTTP/2").await.expect("write");
    let wait = Duration::from_secs(15);
    assert!(
        closed_by_peer(&mut silent, wait).await,
        "a silent connection stayed open"
    );
    assert!(
        closed_by_peer(&mut dribbling, wait).await,
        "a stalled preface stayed open"
    );
    assert!(
        registers_from(&pushd, "127.0.0.1").await,
        "a real client is served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_at_most_its_share_of_connections() {
    let pushd = Pushd::start(&[
        "--max-connections-per-ip",
        "4",
        "--handshake-timeout-seconds",
        "60",
    ]);
    let address = address(&pushd);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(&address, "127.0.0.1", None).await);
    }
    let mut fifth = connect_from(&address, "127.0.0.1", None).await;
    assert!(
        closed_by_peer(&mut fifth, Duration::from_secs(10)).await,
        "a fifth connection from one address stayed open"
    );
    assert!(
        registers_from(&pushd, "127.0.0.2").await,
        "another address is served"
    );
    assert!(
        pushd
            .metrics()
            .contains("pushd_connections_refused_total{reason=\"per_ip\"}"),
        "the refusal is counted"
    );
    // A closed connection gives its slot back.
    drop(held.pop());
    let mut retries = 0;
    while !registers_from(&pushd, "127.0.0.1").await {
        retries += 1;
        assert!(retries < 50, "the address never got its slot back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_files_limit_is_raised_to_the_hard_limit() {
    let pushd = Pushd::start_with_open_files("256:4096", &[]);
    assert_eq!(abuse::soft_open_files_limit(pushd.pid()), Some(4096));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_accept_loop_waits_instead_of_spinning() {
    // Soft and hard limit alike, so nothing raises it, and the least derived
    // connection cap (64) is above what is left: accept fails with EMFILE.
    let pushd = Pushd::start_with_open_files("64:64", &["--handshake-timeout-seconds", "60"]);
    let address = address(&pushd);
    let mut flood = Vec::new();
    for _ in 0..80 {
        // The kernel completes these from its queue whether pushd accepts them or not.
        flood.push(connect_from(&address, "127.0.0.1", None).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = abuse::cpu_ticks(pushd.pid());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let spent = abuse::cpu_ticks(pushd.pid()) - before;
    // 300 ticks would be a whole core for the 3 s; a retry loop with no pause takes that.
    assert!(
        spent < 60,
        "pushd used {spent} ticks of CPU in 3 s at its descriptor limit"
    );
    drop(flood);
    let mut retries = 0;
    while !registers_from(&pushd, "127.0.0.1").await {
        retries += 1;
        assert!(
            retries < 100,
            "pushd did not recover once descriptors were free"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        pushd
            .metrics()
            .contains("pushd_accept_errors_total{reason=\"descriptors\"}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_request_is_answered_deadline_exceeded() {
    let pushd = Pushd::start(&["--request-timeout-seconds", "1"]);
    let address = address(&pushd);
    let tcp = connect_from(&address, "127.0.0.1", None).await;
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = abuse::grpc_request(&address, "/push.v1.Device/Register", None);
    let (response, mut body) = client.send_request(request, false).expect("send");
    // The start of a message's frame, and never the rest.
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0]), false)
        .expect("data");
    let response = tokio::time::timeout(Duration::from_secs(15), response)
        .await
        .expect("pushd answered an unfinished request")
        .expect("response");
    let status = response.headers().get("grpc-status").expect("grpc-status");
    assert_eq!(status, "4", "DEADLINE_EXCEEDED");
    let message = response
        .headers()
        .get("grpc-message")
        .expect("grpc-message");
    assert!(
        message
            .to_str()
            .unwrap_or_default()
            .contains("request_timeout_seconds"),
        "{message:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_past_its_age_and_grace_is_closed() {
    let pushd = Pushd::start(&[
        "--max-connection-age-seconds",
        "1",
        "--max-connection-age-grace-seconds",
        "1",
    ]);
    let device = RawDevice::register(&pushd.url).await;
    let address = address(&pushd);
    let tcp = connect_from(&address, "127.0.0.1", None).await;
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2");
    let connection = tokio::spawn(connection);
    let _stream = abuse::open_listen(&client, &address, &device.bearer()).await;
    // A live stream never ends on its own: only the cut after the grace ends it.
    let closed = tokio::time::timeout(Duration::from_secs(15), connection).await;
    assert!(closed.is_ok(), "the connection outlived its age and grace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_stops_reading_is_dropped() {
    let pushd = Pushd::start(&[
        "--tcp-user-timeout-seconds",
        "2",
        "--device-rate",
        "0",
        "--subscription-rate",
        "0",
        "--sender-rate",
        "0",
    ]);
    let address = address(&pushd);
    let server_port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut stuck = RawDevice::register(&pushd.url).await;
    let subscription = stuck.subscribe(None).await;
    let mut sender = support::raw::Senders::new(&pushd.url).await;

    // A small receive buffer, and HTTP/2 windows that let pushd write freely.
    let tcp = connect_from(&address, "127.0.0.1", Some(4096)).await;
    let client_port = tcp.local_addr().expect("local").port();
    let (client, connection) = abuse::h2_with_large_windows(tcp).await;
    let mut connection = abuse::Unread::drive(connection);
    let _stream = abuse::open_listen(&client, &address, &stuck.bearer()).await;
    connection.stop_reading().await;

    assert!(
        abuse::server_end_open(server_port, client_port),
        "pushd's end of the connection is open before the flood"
    );
    let text = "x".repeat(3000);
    for _ in 0..300 {
        sender.send_text(&subscription, &text, 600).await;
    }
    let mut dropped = false;
    for _ in 0..120 {
        if !abuse::server_end_open(server_port, client_port) {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        dropped,
        "pushd still holds a connection whose peer stopped reading 30 s ago"
    );

    // Meanwhile a device that reads is served, and the stuck one's messages wait for it.
    abuse::still_served(&pushd.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_of_the_metrics_port_are_let_go() {
    let pushd = Pushd::start(&[]);
    // Twice the scrapes served at once, none saying anything.
    let mut silent = Vec::new();
    for _ in 0..32 {
        silent.push(connect_from(&pushd.metrics_addr, "127.0.0.1", None).await);
    }
    let mut closed = 0;
    for connection in silent.iter_mut().take(16) {
        if closed_by_peer(connection, Duration::from_secs(15)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 16, "silent metrics clients were kept");
    assert!(
        pushd.metrics().contains("pushd_"),
        "a scrape is answered after"
    );
}
