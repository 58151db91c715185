//! The FCM bridge end to end: the real pushd process drives the real
//! `google-fcm1` client (OAuth2 through `yup-oauth2`) against a mock token
//! endpoint and a mock FCM v1 endpoint on loopback (tests/support/google.rs),
//! for a device with an FCM bridge and no stream.

mod support;

use std::time::Duration;

use push_proto::v1 as pb;
use push_sdk::crypto;
use support::google::{ACCESS_TOKEN, Answer, MockGoogle};
use support::raw::{Senders, Subscribed};
use support::{Pushd, RawDevice};

struct Rig {
    google: MockGoogle,
    pushd: Pushd,
    device: RawDevice,
    subscription: Subscribed,
    sender: Senders,
}

async fn rig(token: &str, answers: &[Answer], refuse_sign_in: bool) -> Rig {
    let google = MockGoogle::start(refuse_sign_in).await;
    google.script(token, answers);
    let args = google.pushd_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pushd = Pushd::start(&args);
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    device.set_fcm_bridge(token).await;
    let sender = Senders::new(&pushd.url).await;
    Rig {
        google,
        pushd,
        device,
        subscription,
        sender,
    }
}

impl Rig {
    async fn send(&mut self, text: &str, urgency: pb::Urgency, topic: &str) -> String {
        let body = support::raw::encrypt_for(&self.subscription, text);
        let mut request = Senders::request(&self.subscription.endpoint, body, 600);
        request.urgency = urgency as i32;
        request.topic = topic.into();
        let receipt = self.sender.submit(request).await.expect("submit");
        assert_eq!(
            receipt.outcome(),
            pb::Outcome::Stored,
            "no stream: stored, then bridged"
        );
        receipt.message_id
    }

    fn bridge_outcomes(&self, outcome: &str) -> bool {
        self.pushd.metrics().lines().any(|line| {
            line.starts_with("pushd_bridge_sends_total")
                && line.contains("provider=\"fcm\"")
                && line.contains(&format!("outcome=\"{outcome}\""))
        })
    }
}

#[tokio::test]
async fn a_message_goes_out_as_an_encrypted_data_message() {
    let mut rig = rig("tok-ok", &[], false).await;
    let id = rig.send("over FCM", pb::Urgency::High, "scores").await;
    let sends = rig.google.wait_for_sends(1).await;
    let sent = &sends[0];
    assert_eq!(sent.path, "/v1/projects/demo-project/messages:send");
    assert_eq!(sent.authorization, format!("Bearer {ACCESS_TOKEN}"));
    assert_eq!(
        rig.google.sign_ins(),
        1,
        "signed in with the service account"
    );
    let message = sent.message();
    assert_eq!(message["token"], "tok-ok");
    assert!(
        message.get("notification").is_none(),
        "a data message: the app decrypts"
    );
    let android = &message["android"];
    assert_eq!(android["priority"], "HIGH");
    assert_eq!(android["collapseKey"], "scores");
    let ttl = android["ttl"].as_str().expect("ttl");
    let seconds: f64 = ttl.trim_end_matches('s').parse().expect("seconds");
    assert!((590.0..=600.0).contains(&seconds), "ttl {ttl}");
    let data = sent.data();
    assert_eq!(data["v"], "1");
    assert_eq!(data["id"], id);
    assert_eq!(data["sub"], rig.subscription.id);
    let ciphertext = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &data["enc"],
    )
    .expect("base64url");
    let plain = crypto::decrypt(&rig.subscription.keys, &ciphertext).expect("decrypt");
    assert_eq!(plain, b"over FCM");

    // Low urgency with a TTL inside the margin: bridged now, at normal priority.
    rig.send("soon stale", pb::Urgency::Low, "").await;
    let sends = rig.google.wait_for_sends(2).await;
    assert_eq!(sends[1].message()["android"]["priority"], "NORMAL");
    assert!(rig.bridge_outcomes("sent"));
}

#[tokio::test]
async fn an_unregistered_token_is_forgotten_and_messages_stay_stored() {
    let mut rig = rig("tok-gone", &[Answer::Unregistered], false).await;
    let first = rig.send("one", pb::Urgency::Normal, "").await;
    rig.google.wait_for_sends(1).await;
    for _ in 0..100 {
        if rig.bridge_outcomes("token_gone") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rig.bridge_outcomes("token_gone"));
    let second = rig.send("two", pb::Urgency::Normal, "").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rig.google.sends().len(),
        1,
        "the forgotten token is not used again"
    );
    let stored: Vec<String> = rig
        .device
        .fetch(&[])
        .await
        .into_iter()
        .map(|message| message.message_id)
        .collect();
    assert_eq!(stored, [first, second], "both wait for the device");
}

#[tokio::test]
async fn quota_exceeded_waits_as_long_as_retry_after_says() {
    let mut rig = rig(
        "tok-busy",
        &[Answer::TooManyRequests {
            retry_after_seconds: 1,
        }],
        false,
    )
    .await;
    rig.send("patience", pb::Urgency::Normal, "").await;
    let sends = rig.google.wait_for_sends(2).await;
    let gap = sends[1].at - sends[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, before Retry-After"
    );
    assert_eq!(sends[0].data(), sends[1].data(), "the same message again");
}

#[tokio::test]
async fn a_server_error_is_retried_until_it_succeeds() {
    let mut rig = rig("tok-flaky", &[Answer::ServerError], false).await;
    rig.send("again", pb::Urgency::Normal, "").await;
    rig.google.wait_for_sends(2).await;
    for _ in 0..100 {
        if rig.bridge_outcomes("sent") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the retry was not counted as sent");
}

#[tokio::test]
async fn refused_credentials_show_in_metrics_and_lose_nothing() {
    let mut rig = rig("tok-ok", &[], true).await;
    let id = rig.send("kept", pb::Urgency::Normal, "").await;
    for _ in 0..200 {
        if rig.bridge_outcomes("auth_failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        rig.bridge_outcomes("auth_failed"),
        "{}",
        rig.pushd.metrics()
    );
    assert!(rig.google.sign_ins() >= 1, "it tried to sign in");
    assert!(
        rig.google.sends().is_empty(),
        "nothing reached FCM unauthenticated"
    );
    let stored = rig.device.fetch(std::slice::from_ref(&id)).await;
    assert_eq!(stored.len(), 1, "the message waits for the device");
}

#[tokio::test]
async fn bridge_and_fetch_calls_check_input_and_stay_within_the_device() {
    use support::raw::with_auth;
    // No push service configured: a bridge it cannot use is refused up front.
    let plain = Pushd::start(&[]);
    let mut device = RawDevice::register(&plain.url).await;
    let fcm = |token: &str, project: &str| pb::SetBridgeRequest {
        bridge: Some(pb::set_bridge_request::Bridge::Fcm(pb::FcmBridge {
            registration_token: token.into(),
            project_id: project.into(),
        })),
    };
    let refused = device
        .client
        .set_bridge(with_auth(fcm("tok", "demo-project"), &device.bearer()))
        .await
        .expect_err("no FCM credentials");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );

    let mut rig = rig("tok-ok", &[], false).await;
    let bearer = rig.device.bearer();
    for (request, what) in [
        (fcm("has space", "demo-project"), "token"),
        (fcm("tok", "bad/project"), "project"),
        (pb::SetBridgeRequest { bridge: None }, "empty"),
    ] {
        let status = rig
            .device
            .client
            .set_bridge(with_auth(request, &bearer))
            .await
            .expect_err(what);
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{what}: {status:?}"
        );
    }
    let bad_fetch = pb::FetchMessagesRequest {
        message_ids: vec!["not-an-id".into()],
        ..Default::default()
    };
    let status = rig
        .device
        .client
        .fetch_messages(with_auth(bad_fetch, &bearer))
        .await
        .expect_err("bad id");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let empty_ack = pb::AckMessagesRequest {
        message_ids: vec![],
    };
    let status = rig
        .device
        .client
        .ack_messages(with_auth(empty_ack, &bearer))
        .await
        .expect_err("nothing to ack");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // Another device can neither read nor ack this device's messages.
    let id = rig.send("mine", pb::Urgency::Normal, "").await;
    let mut stranger = RawDevice::register(&rig.pushd.url).await;
    assert!(stranger.fetch(std::slice::from_ref(&id)).await.is_empty());
    let theirs = pb::AckMessagesRequest {
        message_ids: vec![id.clone()],
    };
    let acked = stranger
        .client
        .ack_messages(with_auth(theirs, &stranger.bearer()))
        .await
        .expect("ack")
        .into_inner();
    assert_eq!(acked.removed, 0);
    assert_eq!(
        rig.device.fetch(&[id]).await.len(),
        1,
        "still there for its device"
    );
}
