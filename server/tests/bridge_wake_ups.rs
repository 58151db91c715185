//! Bridged wake-ups kept in the store and sent by a bounded pool, on the
//! real pushd against the mock Google of tests/support/google.rs: a token
//! endpoint that never answers holds no socket per message, a low-urgency
//! wake-up survives a restart, and one whose message was acked is not sent.

mod support;

use std::time::Duration;

use push_proto::v1 as pb;
use support::google::MockGoogle;
use support::raw::{Senders, Subscribed, decrypt_text, with_auth};
use support::{Pushd, RawDevice};

/// Messages sent while the token endpoint is silent.
const FLOOD: usize = 500;
/// Descriptors pushd may add over its baseline: a worker pool's worth
/// (the default `bridge_workers`), far below one per message.
const FD_ALLOWANCE: usize = 64;
/// Resident memory pushd may add over its baseline (the old one-task-per-
/// message dispatch added about 17 MB for this flood, the pool under 3 MB).
const RSS_ALLOWANCE_KB: u64 = 10 * 1024;

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/<pid>/fd")
        .count()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

async fn google_pushd(extra: &[&str]) -> (MockGoogle, Pushd) {
    let google = MockGoogle::start(false).await;
    let mut args = google.pushd_args();
    args.extend(extra.iter().map(ToString::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pushd = Pushd::start(&args);
    (google, pushd)
}

async fn phone(url: &str, token: &str) -> (RawDevice, Subscribed) {
    let mut device = RawDevice::register(url).await;
    let subscription = device.subscribe(None).await;
    device.set_fcm_bridge(token).await;
    (device, subscription)
}

async fn send(
    sender: &mut Senders,
    to: &Subscribed,
    text: &str,
    urgency: pb::Urgency,
    ttl: u32,
) -> pb::SubmitMessageResponse {
    let body = support::raw::encrypt_for(to, text);
    let mut request = Senders::request(&to.endpoint, body, ttl);
    request.urgency = urgency as i32;
    sender.submit(request).await.expect("submit")
}

#[tokio::test]
async fn a_silent_token_endpoint_holds_a_bounded_number_of_sockets() {
    let (google, pushd) = google_pushd(&[]).await;
    google.silence_token_endpoint();
    let mut sender = Senders::new(&pushd.url).await;
    let mut desktop = RawDevice::register(&pushd.url).await;
    let on_desk = desktop.subscribe(None).await;
    let hello = pb::Hello {
        presence: pb::Presence::Active as i32,
        ..pb::Hello::default()
    };
    let mut stream = desktop.listen_live(hello).await;
    let (_phone, on_phone) = phone(&pushd.url, "tok-waiting").await;
    let live = send(&mut sender, &on_desk, "warm-up", pb::Urgency::High, 600).await;
    assert_eq!(live.outcome(), pb::Outcome::Delivered);
    stream.next_message().await;
    let (fds_before, rss_before) = (open_fds(pushd.pid()), rss_kb(pushd.pid()));

    let (mut fds_peak, mut rss_peak) = (fds_before, rss_before);
    for sent in 0..FLOOD {
        let stored = send(&mut sender, &on_phone, "wake up", pb::Urgency::High, 600).await;
        assert_eq!(stored.outcome(), pb::Outcome::Stored);
        if sent % 100 == 99 {
            // The desktop keeps getting its messages meanwhile.
            let text = format!("still here {sent}");
            let live = send(&mut sender, &on_desk, &text, pb::Urgency::High, 600).await;
            assert_eq!(live.outcome(), pb::Outcome::Delivered);
            assert_eq!(decrypt_text(&on_desk, &stream.next_message().await), text);
            fds_peak = fds_peak.max(open_fds(pushd.pid()));
        }
    }
    assert!(
        google.silent_token_requests() >= 1,
        "the sends reached the silent endpoint"
    );
    // Sample for a while: whatever the flood opens shows within it.
    for _ in 0..20 {
        fds_peak = fds_peak.max(open_fds(pushd.pid()));
        rss_peak = rss_peak.max(rss_kb(pushd.pid()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "descriptors {fds_before} -> peak {fds_peak}; RSS {rss_before} kB -> peak {rss_peak} kB; token requests held {}",
        google.silent_token_requests()
    );
    assert!(
        fds_peak <= fds_before + FD_ALLOWANCE,
        "{FLOOD} stuck wake-ups took {} descriptors",
        fds_peak - fds_before
    );
    assert!(
        rss_peak <= rss_before + RSS_ALLOWANCE_KB,
        "{FLOOD} stuck wake-ups took {} kB",
        rss_peak - rss_before
    );
    let after = send(&mut sender, &on_desk, "after", pb::Urgency::High, 600).await;
    assert_eq!(after.outcome(), pb::Outcome::Delivered);
    assert_eq!(
        decrypt_text(&on_desk, &stream.next_message().await),
        "after"
    );
}

/// Low urgency with an 8 s TTL and a 5 s margin: the wake-up is due about
/// 3 s after the send.
const SOON: &[&str] = &["--low-urgency-margin-seconds", "5"];
const SOON_TTL: u32 = 8;

#[tokio::test]
async fn a_waiting_wake_up_survives_a_restart() {
    let (google, mut pushd) = google_pushd(SOON).await;
    let (_phone, on_phone) = phone(&pushd.url, "tok-restart").await;
    let mut sender = Senders::new(&pushd.url).await;
    let stored = send(&mut sender, &on_phone, "later", pb::Urgency::Low, SOON_TTL).await;
    assert_eq!(stored.outcome(), pb::Outcome::Stored);
    assert!(google.sends().is_empty(), "not due yet");
    pushd.restart();
    let sends = google.wait_for_sends(1).await;
    assert_eq!(sends[0].data()["id"], stored.message_id);
    assert_eq!(sends[0].message()["token"], "tok-restart");
}

#[tokio::test]
async fn an_acked_message_sends_no_wake_up() {
    let (google, pushd) = google_pushd(SOON).await;
    let (mut phone, on_phone) = phone(&pushd.url, "tok-acked").await;
    let mut sender = Senders::new(&pushd.url).await;
    let acked = send(&mut sender, &on_phone, "seen", pb::Urgency::Low, SOON_TTL).await;
    let kept = send(&mut sender, &on_phone, "unseen", pb::Urgency::Low, SOON_TTL).await;
    let ack = pb::AckMessagesRequest {
        message_ids: vec![acked.message_id.clone()],
    };
    let removed = phone
        .client
        .ack_messages(with_auth(ack, &phone.bearer()))
        .await
        .expect("ack")
        .into_inner()
        .removed;
    assert_eq!(removed, 1);
    let sends = google.wait_for_sends(1).await;
    assert_eq!(
        sends[0].data()["id"],
        kept.message_id,
        "the unacked one goes"
    );
    let skipped = |metrics: &str| {
        metrics.lines().any(|line| {
            line.starts_with("pushd_bridge_sends_total") && line.contains("outcome=\"not_needed\"")
        })
    };
    for _ in 0..200 {
        if skipped(&pushd.metrics()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        skipped(&pushd.metrics()),
        "the acked one's wake-up was looked at and dropped"
    );
    assert_eq!(google.sends().len(), 1, "nothing for the acked message");
}
