//! pushd in the test process (`pushd::serve` on a listener bound here):
//! serving and a clean shutdown, and the time limits a client lives under,
//! on paused time so a 10-second deadline costs no real 10 seconds.
//!
//! Time is paused only once pushd is serving: before that it waits on the
//! SQLite writer thread, and paused time would leap ahead while it does.
//! TTL expiry is not here: stored messages expire by the wall clock
//! (`domain::now_millis`), which paused time does not move; the store
//! conformance suite checks expiry with an explicit "now" instead.

mod support;

use std::time::Duration;

use push_proto::v1 as pb;
use pushd::config::Overrides;
use support::RawDevice;
use support::in_process::InProcess;
use support::raw::{Senders, decrypt_text};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::Instant;

/// pushd's default `handshake_timeout_seconds`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// pushd in process, once its ready file says it serves (bounded wait).
async fn serving(overrides: Overrides) -> InProcess {
    let pushd = InProcess::start(overrides).await;
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(&pushd.ready_file) {
            let ready: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(ready["listen"], pushd.address.to_string());
            assert_eq!(ready["pid"], std::process::id());
            return pushd;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("pushd in process did not write its ready file within 10 s");
}

#[tokio::test]
async fn serve_delivers_and_returns_once_its_shutdown_future_resolves() {
    let pushd = serving(Overrides::default()).await;
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut sender = Senders::new(&pushd.url).await;
    let mut stream = device
        .listen_live(pb::Hello {
            presence: pb::Presence::Active as i32,
            min_urgency: pb::Urgency::Unspecified as i32,
        })
        .await;
    let receipt = sender.send_text(&subscription, "in process", 60).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    let message = stream.next_message().await;
    assert_eq!(decrypt_text(&subscription, &message), "in process");

    let ready_file = pushd.ready_file.clone();
    drop(stream);
    tokio::time::timeout(Duration::from_secs(30), pushd.stop())
        .await
        .expect("serve returns after the drain")
        .expect("a clean stop");
    assert!(
        !ready_file.exists(),
        "a stopped pushd no longer announces itself"
    );
}

#[tokio::test]
async fn a_push_whose_body_stalls_gets_408_at_the_handshake_timeout_not_before() {
    let pushd = serving(Overrides::default()).await;
    tokio::time::pause();
    let mut stalled = tokio::net::TcpStream::connect(pushd.address)
        .await
        .expect("connect");
    let token = "A".repeat(68);
    let head = format!(
        "POST /push/{token} HTTP/1.1\r\nhost: {}\r\nttl: 60\r\ncontent-encoding: aes128gcm\r\ncontent-length: 100\r\n\r\n0123456789",
        pushd.address
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = vec![0u8; 512];
    let read = tokio::time::timeout(3 * HANDSHAKE_TIMEOUT, stalled.read(&mut answer))
        .await
        .expect("pushd answers a stalled body")
        .expect("read");
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        waited >= HANDSHAKE_TIMEOUT && waited < 2 * HANDSHAKE_TIMEOUT,
        "answered after {waited:?}, not at the {HANDSHAKE_TIMEOUT:?} deadline"
    );
}

#[tokio::test]
async fn a_connection_that_says_nothing_is_closed_at_the_handshake_timeout_not_before() {
    let pushd = serving(Overrides::default()).await;
    tokio::time::pause();
    let mut silent = tokio::net::TcpStream::connect(pushd.address)
        .await
        .expect("connect");
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(3 * HANDSHAKE_TIMEOUT, silent.read(&mut buffer))
        .await
        .expect("pushd closes a silent connection");
    let waited = started.elapsed();
    assert!(
        matches!(closed, Ok(0) | Err(_)),
        "closed, not answered: {closed:?}"
    );
    assert!(
        waited >= HANDSHAKE_TIMEOUT && waited < 2 * HANDSHAKE_TIMEOUT,
        "closed after {waited:?}, not at the {HANDSHAKE_TIMEOUT:?} deadline"
    );
}
