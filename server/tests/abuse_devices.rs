//! Issue 12, items 3 and 5: what a device, or anyone who can register one,
//! can make pushd spend. Store work is read from pushd's own metrics
//! (operations committed by the store's writer), never from timings.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, client_frame};
use support::abuse::registers_from;
use support::raw::{Senders, with_auth};
use support::{Pushd, RawDevice};

/// The value of an unlabelled metric (0 when absent).
fn metric(pushd: &Pushd, name: &str) -> f64 {
    pushd
        .metrics()
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// Ids shaped like message ids that pushd never issued.
fn forged_ids(seed: u32) -> Vec<String> {
    (0..1024u32)
        .map(|n| format!("{seed:08x}-0000-4000-8000-{n:012x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_for_ids_never_sent_cost_the_store_nothing() {
    let pushd = Pushd::start(&[]);
    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut device = RawDevice::register(&pushd.url).await;
        streams.push(device.listen_live(pb::Hello::default()).await);
    }
    let writes_before = metric(&pushd, "pushd_store_batch_ops_sum");
    for (n, stream) in streams.iter().enumerate() {
        for frame in 0..10 {
            stream.ack(&forged_ids((n * 10 + frame) as u32)).await;
        }
    }
    let flood = 20.0 * 10.0 * 1024.0;
    // Until every forged id is counted, or 3 s (time enough for pushd to take them all).
    for _ in 0..30 {
        if metric(&pushd, "pushd_acks_ignored_total") >= flood {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let writes = metric(&pushd, "pushd_store_batch_ops_sum") - writes_before;
    // One operation per ack frame (200) before; none now.
    assert!(
        writes < 5.0,
        "the store's writer ran {writes} operations for forged acks"
    );
    let ignored = metric(&pushd, "pushd_acks_ignored_total");
    assert_eq!(ignored, flood, "every forged id is dropped and counted");

    // A real ack still reaches the store.
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut sender = Senders::new(&pushd.url).await;
    let mut stream = device.listen_live(pb::Hello::default()).await;
    sender.send_text(&subscription, "real", 600).await;
    let message = stream.next_message().await;
    stream.ack(std::slice::from_ref(&message.message_id)).await;
    let mut acked = 0.0;
    for _ in 0..100 {
        acked = metric(&pushd, "pushd_messages_acked_total");
        if acked >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(acked, 1.0, "the real ack removed the message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_acked_just_before_a_replay_is_not_sent_again() {
    let pushd = Pushd::start(&[]);
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut sender = Senders::new(&pushd.url).await;
    let mut stream = device.listen_live(pb::Hello::default()).await;
    for round in 0..20 {
        sender
            .send_text(&subscription, &format!("m{round}"), 600)
            .await;
        let message = stream.next_message().await;
        // The ack, then at once a lower threshold, which replays the store.
        stream.ack(std::slice::from_ref(&message.message_id)).await;
        let lower = if round % 2 == 0 {
            pb::Urgency::VeryLow
        } else {
            pb::Urgency::Low
        };
        stream
            .send(client_frame::Frame::MinUrgency(pb::SetMinUrgency {
                min_urgency: lower as i32,
            }))
            .await;
        assert!(
            stream.stays_quiet(Duration::from_millis(300)).await,
            "round {round}: an acked message was sent again"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_is_limited_per_address() {
    let pushd = Pushd::start(&["--register-rate-per-ip", "1"]);
    let mut client = push_proto::v1::device_client::DeviceClient::connect(pushd.url.clone())
        .await
        .expect("connect");
    let mut refused = None;
    // A bucket of 10: the eleventh in a row from one address is refused.
    for _ in 0..30 {
        if let Err(status) = client.register(pb::RegisterRequest {}).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("registrations from one address are limited");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert!(
        refused.message().contains("register_rate_per_ip"),
        "{refused:?}"
    );
    assert!(refused.metadata().get("retry-after").is_some());
    assert!(
        registers_from(&pushd, "127.0.0.2").await,
        "another address registers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_device_secrets_are_counted() {
    let pushd = Pushd::start(&[]);
    let mut device = RawDevice::register(&pushd.url).await;
    for n in 0..50 {
        let kept = &device.credential[..device.credential.len() - 4];
        let forged = format!("Bearer {kept}{n:04}");
        let request = pb::SubscribeRequest::default();
        let refused = device
            .client
            .subscribe(with_auth(request, &forged))
            .await
            .expect_err("a wrong secret is refused");
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }
    let counted = pushd
        .metrics()
        .lines()
        .find_map(|line| {
            line.strip_prefix("pushd_auth_failures_total{kind=\"device\"} ")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0);
    assert_eq!(counted, 50.0);
}

/// 50 messages of ~4 KB to each subscription, from four senders at once.
async fn flood(url: &str, subscriptions: Vec<&support::raw::Subscribed>) {
    let text = "x".repeat(3900);
    let mut senders = Vec::new();
    for chunk in subscriptions.chunks(25) {
        let targets: Vec<(Vec<u8>, String)> = chunk
            .iter()
            .map(|subscription| {
                let body = support::raw::encrypt_for(subscription, &text);
                (body, subscription.endpoint.clone())
            })
            .collect();
        let url = url.to_owned();
        senders.push(tokio::spawn(async move {
            let mut sender = Senders::new(&url).await;
            for _ in 0..50 {
                for (body, endpoint) in &targets {
                    sender
                        .submit(Senders::request(endpoint, body.clone(), 600))
                        .await
                        .expect("accepted");
                }
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_that_stop_reading_hold_bounded_memory() {
    use support::abuse;
    let pushd = Pushd::start(&[
        "--max-stream-unacked-bytes",
        "32768",
        // Kept, so the stuck connection is still there to be measured.
        "--tcp-user-timeout-seconds",
        "600",
        "--register-rate-per-ip",
        "0",
        "--device-rate",
        "0",
        "--subscription-rate",
        "0",
        "--sender-rate",
        "0",
    ]);
    let address = pushd.url.trim_start_matches("http://").to_owned();
    let mut devices = Vec::new();
    for _ in 0..100 {
        let mut device = RawDevice::register(&pushd.url).await;
        let subscription = device.subscribe(None).await;
        devices.push((device, subscription));
    }
    // All 100 streams on one connection that will stop reading.
    let tcp = abuse::connect_from(&address, "127.0.0.1", Some(4096)).await;
    let (client, connection) = abuse::h2_with_large_windows(tcp).await;
    let mut connection = abuse::Unread::drive(connection);
    let mut streams = Vec::new();
    for (device, _) in &devices {
        streams.push(abuse::open_listen(&client, &address, &device.bearer()).await);
    }
    connection.stop_reading().await;

    // The same flood first to 100 devices that are offline: the store, the
    // submissions and the allocator reach their working size, so what the
    // second flood adds is what the stuck streams hold.
    let mut offline = Vec::new();
    for _ in 0..100 {
        let mut device = RawDevice::register(&pushd.url).await;
        offline.push(device.subscribe(None).await);
    }
    flood(&pushd.url, offline.iter().collect()).await;
    let before = abuse::rss_kib(pushd.pid());
    flood(
        &pushd.url,
        devices
            .iter()
            .map(|(_, subscription)| subscription)
            .collect(),
    )
    .await;
    let grown_mib = abuse::rss_kib(pushd.pid()).saturating_sub(before) / 1024;
    eprintln!("100 stuck devices: pushd grew {grown_mib} MiB");
    // 100 devices x 50 messages of ~4 KB: 20 MB of payload, which the streams'
    // queues and HTTP/2 buffers held (with copies) as +40 MiB; 32 KiB each is 3.2 MB.
    assert!(
        grown_mib < 15,
        "pushd grew {grown_mib} MiB for 100 devices that stopped reading"
    );

    // Another device is served meanwhile.
    abuse::still_served(&pushd.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_beyond_the_unacked_bytes_arrives_as_the_device_acks() {
    let pushd = Pushd::start(&[
        "--max-stream-unacked-bytes",
        "8192",
        "--device-rate",
        "0",
        "--subscription-rate",
        "0",
    ]);
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut sender = Senders::new(&pushd.url).await;
    let text = "y".repeat(1000);
    for _ in 0..50 {
        sender.send_text(&subscription, &text, 600).await;
    }
    let mut stream = device.listen(pb::Hello::default()).await.expect("listen");
    let first = stream.backlog().await;
    assert!(
        !first.is_empty() && first.len() < 50,
        "the first window holds what fits in 8 KiB, not all 50: {}",
        first.len()
    );
    assert!(
        stream.stays_quiet(Duration::from_millis(300)).await,
        "nothing more before an ack"
    );
    let mut received = first.len();
    let mut batch: Vec<String> = first.into_iter().map(|m| m.message_id).collect();
    while received < 50 {
        stream.ack(&batch).await;
        batch.clear();
        let message = stream.next_message().await;
        batch.push(message.message_id);
        received += 1;
        while let Ok(Ok(Some(pb::server_frame::Frame::Message(message)))) =
            tokio::time::timeout(Duration::from_millis(200), stream.next()).await
        {
            batch.push(message.message_id);
            received += 1;
        }
    }
    assert_eq!(received, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_never_used_are_removed() {
    let pushd = Pushd::start(&["--unused-device-seconds", "2"]);
    let mut unused = RawDevice::register(&pushd.url).await;
    let mut used = RawDevice::register(&pushd.url).await;
    used.subscribe(None).await;
    let mut removed = false;
    for _ in 0..100 {
        // Listening authenticates without making the device used.
        if let Err(status) = unused.listen(pb::Hello::default()).await {
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(removed, "a device never used was kept");
    assert!(used.try_subscribe().await.is_ok(), "a used device stays");
}
