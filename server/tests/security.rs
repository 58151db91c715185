//! Attacks on the real pushd that the other suites do not already make (see
//! rejections.rs for forged, expired and misaddressed VAPID tokens, wrong
//! sender keys, forged device credentials, malformed payloads and frames
//! and device isolation; limits.rs for floods; senders.rs and oidc.rs for
//! revoked senders and foreign identity tokens): endpoint tokens that are
//! forged, altered or guessed, oversized frames, and streams that never
//! authenticate or never say Hello.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use support::raw::{Senders, encrypt_for, with_auth};
use support::{Pushd, RawDevice, Setup};
use tokio_stream::StreamExt as _;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_tokens_are_sealed_stable_and_unforgeable() {
    let Setup {
        mut pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let token = subscription.endpoint.rsplit('/').next().expect("token");
    assert_ne!(
        token, subscription.id,
        "the endpoint does not carry the id as is"
    );
    assert!(!token.contains(&subscription.id));
    assert_eq!(token.len(), 60);
    let second = device.subscribe(None).await;
    let other = second.endpoint.rsplit('/').next().expect("token");
    assert_ne!(token[1..], other[1..]);

    // Every single-character change is refused, as an unknown subscription.
    for index in [1, 10, 30, 45, 59] {
        let mut altered: Vec<char> = token.chars().collect();
        altered[index] = if altered[index] == 'x' { 'y' } else { 'x' };
        let altered: String = altered.into_iter().collect();
        let body = encrypt_for(&subscription, "forged");
        let refused = sender
            .submit(Senders::request(&altered, body, 60))
            .await
            .expect_err("an altered token");
        assert_eq!(refused.code(), Code::NotFound, "position {index}");
    }
    // The subscription id alone (how endpoints looked before tokens were
    // sealed) still reaches it, so endpoints handed out earlier keep working.
    sender
        .send_text(
            &support::raw::Subscribed {
                id: subscription.id.clone(),
                endpoint: subscription.id.clone(),
                keys: subscription.keys.clone(),
            },
            "old endpoint",
            60,
        )
        .await;

    // The token key lives in the store: tokens survive a restart.
    pushd.restart();
    let mut sender = Senders::new(&pushd.url).await;
    sender.send_text(&subscription, "after a restart", 60).await;
    device.reconnect(&pushd.url).await;
    let listed = device
        .client
        .list_subscriptions(with_auth(pb::ListSubscriptionsRequest {}, &device.bearer()))
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed
            .subscriptions
            .iter()
            .any(|listed| listed.endpoint.ends_with(&format!("/{token}"))),
        "the same token (the port changed with the restart), not a new one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_are_refused_before_they_are_read() {
    let Setup {
        pushd,
        subscription,
        mut sender,
        ..
    } = Setup::new(&[]).await;
    let huge = vec![0u8; 200 * 1024];
    let refused = sender
        .submit(Senders::request(&subscription.endpoint, huge, 60))
        .await
        .expect_err("a 200 KiB request");
    assert_eq!(refused.code(), Code::OutOfRange, "{}", refused.message());
    // The server is fine afterwards.
    sender.send_text(&subscription, "still serving", 60).await;
    let _ = pushd;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_never_says_hello_is_closed() {
    let pushd = Pushd::start(&["--handshake-timeout-seconds", "1"]);
    let mut device = RawDevice::register(&pushd.url).await;
    let (_frames, outbound) = tokio::sync::mpsc::channel::<pb::ClientFrame>(1);
    let request = with_auth(
        tokio_stream::wrappers::ReceiverStream::new(outbound),
        &device.bearer(),
    );
    let mut inbound = device
        .client
        .listen(request)
        .await
        .expect("stream opens")
        .into_inner();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match inbound.next().await {
                Some(Ok(_)) => continue,
                Some(Err(status)) => return Some(status),
                None => return None,
            }
        }
    })
    .await
    .expect("closed by the server, not left hanging");
    if let Some(status) = ended {
        assert!(
            matches!(
                status.code(),
                Code::DeadlineExceeded | Code::InvalidArgument
            ),
            "{status:?}"
        );
    }

    // Without a credential a stream is refused outright.
    let mut anonymous = DeviceClient::connect(pushd.url.clone())
        .await
        .expect("connect");
    let (_frames, outbound) = tokio::sync::mpsc::channel::<pb::ClientFrame>(1);
    let refused = anonymous
        .listen(tokio_stream::wrappers::ReceiverStream::new(outbound))
        .await
        .expect_err("no credential");
    assert_eq!(refused.code(), Code::Unauthenticated);
}
