//! Abuse limits on the real pushd: new connections per IP address,
//! subscriptions per device, and message rates per sender key, subscription
//! and device, each refused with a status a client can act on.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use support::raw::{Senders, Subscribed, encrypt_for, with_auth};
use support::{Pushd, RawDevice};
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_opening_connections_too_fast_is_refused() {
    let pushd = Pushd::start(&["--connection-rate-per-ip", "1"]);
    let mut answered = 0;
    let mut refused = 0;
    // Each call on its own fresh connection; the burst allowance is 5.
    for _ in 0..20 {
        let channel = Channel::from_shared(pushd.url.clone())
            .expect("url")
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        let mut client = DeviceClient::new(channel);
        let call = client.register(pb::RegisterRequest {});
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(_)) => answered += 1,
            _ => refused += 1,
        }
    }
    assert!(
        (5..=8).contains(&answered),
        "about the burst got through: {answered}"
    );
    assert!(refused >= 12, "the rest were refused: {refused}");
    let metrics = pushd.metrics();
    assert!(
        metrics.contains("pushd_connections_refused_total{reason=\"rate\"}"),
        "refusals are counted"
    );
    // The limit is per address and refills: a second later one gets in again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    RawDevice::register(&pushd.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_holds_at_most_max_subscriptions() {
    let pushd = Pushd::start(&["--max-subscriptions-per-device", "3"]);
    let mut device = RawDevice::register(&pushd.url).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(device.subscribe(None).await.id);
    }
    let Err(one_more) = device.try_subscribe().await else {
        panic!("a fourth subscription must be refused");
    };
    assert_eq!(one_more.code(), Code::ResourceExhausted);
    assert!(
        one_more.message().contains("limit 3"),
        "{}",
        one_more.message()
    );
    // Another device has its own quota, and unsubscribing frees a place.
    let mut other = RawDevice::register(&pushd.url).await;
    other.subscribe(None).await;
    let bearer = device.bearer();
    device
        .client
        .unsubscribe(with_auth(
            pb::UnsubscribeRequest {
                subscription_id: ids.remove(0),
            },
            &bearer,
        ))
        .await
        .expect("unsubscribe");
    device.subscribe(None).await;
}

/// Sends `count` messages as fast as they are answered; the refusals.
async fn flood(
    sender: &mut Senders,
    subscription: &Subscribed,
    count: usize,
) -> Vec<tonic::Status> {
    let mut refused = Vec::new();
    for n in 0..count {
        let body = encrypt_for(subscription, &format!("message {n}"));
        if let Err(status) = sender
            .submit(Senders::request(&subscription.endpoint, body, 60))
            .await
        {
            refused.push(status);
        }
    }
    refused
}

fn retry_after(status: &tonic::Status) -> u64 {
    status
        .metadata()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("retry-after metadata")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_sender_is_slowed_while_another_keeps_sending() {
    // 5 messages a second with bursts of 50, per sender key.
    let pushd = Pushd::start(&["--sender-rate", "5"]);
    let mut device = RawDevice::register(&pushd.url).await;
    let (flooded, quiet) = (device.subscribe(None).await, device.subscribe(None).await);
    let (mut flooder, mut neighbour) = (
        Senders::new(&pushd.url).await,
        Senders::new(&pushd.url).await,
    );
    let started = std::time::Instant::now();
    let refused = flood(&mut flooder, &flooded, 80).await;
    // What the bucket may let through: the burst plus what refilled while
    // the flood ran (slow on a loaded machine), so the bound holds at any speed.
    let allowed = 50 + (5.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    assert!(
        !refused.is_empty() && refused.len() >= 80usize.saturating_sub(allowed),
        "beyond the burst and the refill ({allowed} allowed) all are refused: {} refused",
        refused.len()
    );
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(
            status.message().contains("sender key"),
            "{}",
            status.message()
        );
        assert!(retry_after(status) >= 1);
    }
    for n in 0..10 {
        neighbour
            .send_text(&quiet, &format!("unaffected {n}"), 60)
            .await;
    }
    assert!(
        pushd
            .metrics()
            .contains("pushd_rate_limited_total{limit=\"sender key\"}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_do_not_spend_another_senders_budget() {
    let pushd = Pushd::start(&["--sender-rate", "1"]);
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut victim = Senders::new(&pushd.url).await;
    // The forger copies the victim's k= but cannot sign with its key.
    let forged = {
        let genuine = victim.authorization();
        let (token, key) = genuine.split_once(", k=").expect("vapid header");
        let mut token = token.to_owned();
        let last = token.pop().expect("signature");
        token.push(if last == 'A' { 'B' } else { 'A' });
        format!("{token}, k={key}")
    };
    for _ in 0..30 {
        let body = encrypt_for(&subscription, "forged");
        let refused = victim
            .client
            .submit_message(with_auth(
                Senders::request(&subscription.endpoint, body, 60),
                &forged,
            ))
            .await
            .expect_err("a forged token is refused");
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
    // The burst of 10 is still whole.
    assert!(flood(&mut victim, &subscription, 10).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_subscription_or_one_device_taking_too_much_is_slowed() {
    let pushd = Pushd::start(&["--subscription-rate", "2", "--device-rate", "3"]);
    let mut device = RawDevice::register(&pushd.url).await;
    let (first, second) = (device.subscribe(None).await, device.subscribe(None).await);
    let mut sender = Senders::new(&pushd.url).await;
    // Subscription bucket: 20; device bucket: 30.
    let refused = flood(&mut sender, &first, 25).await;
    assert!(!refused.is_empty());
    assert!(
        refused
            .iter()
            .all(|status| status.message().contains("subscription"))
    );
    let refused = flood(&mut sender, &second, 15).await;
    assert!(
        refused
            .iter()
            .any(|status| status.message().contains("device")),
        "the device's own budget runs out across its subscriptions"
    );
    let mut elsewhere = RawDevice::register(&pushd.url).await;
    let other = elsewhere.subscribe(None).await;
    assert!(
        flood(&mut sender, &other, 5).await.is_empty(),
        "other devices are not affected"
    );
}
