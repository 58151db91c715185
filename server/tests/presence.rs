//! Presence-aware routing on the real pushd with an FCM bridge (the mock
//! Google of tests/support/google.rs): an active desktop gets messages on
//! its stream, an away device through its bridge, low urgency waits for the
//! device to become active, and a device that comes back after a bridged
//! message shows nothing twice.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, client_frame};
use push_sdk::vapid::VapidKey;
use push_sdk::{DeviceClient, MobileBridge, SendOptions, Sender};
use support::google::MockGoogle;
use support::raw::{RawStream, Senders, Subscribed, decrypt_text};
use support::{Pushd, RawDevice};

const QUIET: Duration = Duration::from_millis(400);

struct Rig {
    google: MockGoogle,
    pushd: Pushd,
    sender: Senders,
}

async fn rig() -> Rig {
    let google = MockGoogle::start(false).await;
    let args = google.pushd_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pushd = Pushd::start(&args);
    let sender = Senders::new(&pushd.url).await;
    Rig {
        google,
        pushd,
        sender,
    }
}

impl Rig {
    /// A device with a subscription, an FCM bridge (if `token`), and a stream
    /// opened with `presence`.
    async fn device(
        &self,
        token: Option<&str>,
        presence: pb::Presence,
    ) -> (RawDevice, Subscribed, RawStream) {
        let mut device = RawDevice::register(&self.pushd.url).await;
        let subscription = device.subscribe(None).await;
        if let Some(token) = token {
            device.set_fcm_bridge(token).await;
        }
        let hello = pb::Hello {
            presence: presence as i32,
            ..pb::Hello::default()
        };
        let stream = device.listen_live(hello).await;
        (device, subscription, stream)
    }

    async fn send(
        &mut self,
        subscription: &Subscribed,
        text: &str,
        urgency: pb::Urgency,
    ) -> pb::SubmitMessageResponse {
        let body = support::raw::encrypt_for(subscription, text);
        let mut request = Senders::request(&subscription.endpoint, body, 3600);
        request.urgency = urgency as i32;
        self.sender.submit(request).await.expect("submit")
    }
}

#[tokio::test]
async fn an_active_desktop_gets_it_on_the_stream_and_the_phone_stays_dark() {
    let mut rig = rig().await;
    let (_device, subscription, mut stream) =
        rig.device(Some("tok-desk"), pb::Presence::Active).await;
    let receipt = rig
        .send(&subscription, "on screen", pb::Urgency::High)
        .await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&subscription, &stream.next_message().await),
        "on screen"
    );
    tokio::time::sleep(QUIET).await;
    assert!(rig.google.sends().is_empty(), "not bridged as well");
}

#[tokio::test]
async fn an_away_device_gets_it_through_its_bridge_and_not_its_stream() {
    let mut rig = rig().await;
    let (_device, subscription, mut stream) =
        rig.device(Some("tok-away"), pb::Presence::Away).await;
    let receipt = rig
        .send(&subscription, "to the phone", pb::Urgency::Normal)
        .await;
    assert_eq!(receipt.outcome(), pb::Outcome::Stored);
    let sends = rig.google.wait_for_sends(1).await;
    assert_eq!(sends[0].data()["id"], receipt.message_id);
    assert!(stream.stays_quiet(QUIET).await, "never on both");

    // Away without a bridge: the stream is the only way, so it is used.
    let (_other, lonely, mut lonely_stream) = rig.device(None, pb::Presence::Away).await;
    let receipt = rig.send(&lonely, "only way", pb::Urgency::Normal).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&lonely, &lonely_stream.next_message().await),
        "only way"
    );
}

#[tokio::test]
async fn low_urgency_waits_for_the_device_to_become_active() {
    let mut rig = rig().await;
    let (_device, subscription, mut stream) =
        rig.device(Some("tok-later"), pb::Presence::Away).await;
    let receipt = rig.send(&subscription, "whenever", pb::Urgency::Low).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Stored);
    assert!(stream.stays_quiet(QUIET).await);
    assert!(
        rig.google.sends().is_empty(),
        "low urgency does not wake the phone"
    );
    stream
        .send(client_frame::Frame::Presence(pb::SetPresence {
            presence: pb::Presence::Active as i32,
        }))
        .await;
    let message = stream.next_message().await;
    assert_eq!(message.message_id, receipt.message_id);
    assert_eq!(decrypt_text(&subscription, &message), "whenever");
    assert!(rig.google.sends().is_empty());
}

#[tokio::test]
async fn coming_back_after_a_bridged_message_shows_nothing_twice() {
    let rig = rig().await;
    let folder = tempfile::tempdir().expect("temp dir");
    let phone = DeviceClient::open(&rig.pushd.url, folder.path().join("phone.db"))
        .await
        .expect("open");
    let vapid = VapidKey::generate().expect("vapid");
    let subscription = phone
        .subscribe(Some(&vapid.public_key_raw()))
        .await
        .expect("subscribe");
    phone
        .set_bridge(&MobileBridge::Fcm {
            registration_token: "tok-phone".into(),
            project_id: "demo-project".into(),
        })
        .await
        .expect("bridge");
    let sender = Sender::connect(&rig.pushd.url, vapid, "mailto:ops@example.com")
        .await
        .expect("sender");
    let mut ids = Vec::new();
    for text in ["first", "second"] {
        let receipt = sender
            .send(&subscription, text.as_bytes(), SendOptions::default())
            .await
            .expect("send");
        assert_eq!(receipt.outcome, pb::Outcome::Stored);
        ids.push(receipt.message_id);
    }
    // Bridged sends run in the background: they may reach FCM in any order.
    let sends = rig.google.wait_for_sends(2).await;
    let first = sends
        .iter()
        .map(support::google::Send::data)
        .find(|data| data["id"] == ids[0])
        .expect("the first message was bridged");

    // The app is woken by the first; its SDK opens it (and acks it).
    let opened = phone
        .open_bridged(&first)
        .await
        .expect("open")
        .expect("new to this device");
    assert_eq!(opened.payload, b"first");
    assert_eq!(
        phone.open_bridged(&first).await.expect("again"),
        None,
        "the same notification twice is shown once"
    );

    // Then the app comes to the foreground and listens.
    let mut app = support::sdk::SdkListener::start(&phone);
    assert_eq!(app.next().await.payload, b"second");
    tokio::time::sleep(QUIET).await;
    assert!(app.nothing_more(), "nothing shown twice");
    app.stop().await;
}
