//! Abuse limits on the real pushd: new connections per IP address and
//! subscriptions per device, each refused with a status a client can act on.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use support::raw::with_auth;
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
