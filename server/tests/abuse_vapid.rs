//! VAPID abuse on the real pushd (issue 12, item 4): oversized and padded
//! `authorization` headers are refused with the reason; a flood of distinct
//! valid tokens keeps pushd's memory within the token cache's byte budget
//! while another sender keeps sending; one token spelled many ways (params
//! reordered, spacing, a padded key, a malleated signature) is one entry.

mod support;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::EcGroup;
use openssl::nid::Nid;
use push_sdk::vapid::VapidKey;
use support::raw::{Senders, encrypt_for, now_secs, with_auth};
use support::webpush::curl;
use support::{Pushd, RawDevice, Setup};
use tonic::Code;

/// The token cache budget the flood test gives pushd.
const CACHE_BYTES: usize = 256 * 1024;

/// A `sub` long enough that the header lands just under the 2 KiB cap.
fn long_subject(filler: usize, n: usize) -> String {
    format!("https://example.com/{}/{n}", "c".repeat(filler))
}

fn header_for(key: &VapidKey, audience: &str, subject: &str, exp: u64) -> String {
    key.authorization_header(&key.sign(audience, subject, exp).expect("sign"))
}

/// `submit` with exactly `authorization`, as a raw status on refusal.
async fn submit_as(
    sender: &mut Senders,
    endpoint: &str,
    body: Vec<u8>,
    authorization: &str,
) -> Result<(), tonic::Status> {
    let request = Senders::request(endpoint, body, 60);
    sender
        .client
        .submit_message(with_auth(request, authorization))
        .await
        .map(|_| ())
}

/// The value of an unlabelled metric, if pushd exports it.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The same token with its ECDSA signature (r, s) turned into (r, n - s),
/// which verifies as well without the private key.
fn malleated(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').expect("a JWT");
    let raw = push_sdk_decode(signature);
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    let mut order = BigNum::new().expect("bn");
    group
        .order(&mut order, &mut BigNumContext::new().expect("ctx"))
        .expect("order");
    let s = BigNum::from_slice(&raw[32..]).expect("s");
    let mut flipped = BigNum::new().expect("bn");
    flipped.checked_sub(&order, &s).expect("n - s");
    let mut out = raw[..32].to_vec();
    out.extend(flipped.to_vec_padded(32).expect("pad"));
    format!("{signing_input}.{}", support::raw::push_sdk_b64(&out))
}

fn push_sdk_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_padded_headers_are_refused_with_the_reason() {
    let Setup {
        pushd,
        device: _device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let audience = sender.audience.clone();
    let exp = now_secs() + 3600;
    let refused = |result: Result<(), tonic::Status>| result.expect_err("must be refused");

    // A validly signed token, only far too long.
    let huge = header_for(&sender.key, &audience, &long_subject(6000, 0), exp);
    let body = encrypt_for(&subscription, "big");
    let status = refused(submit_as(&mut sender, &subscription.endpoint, body, &huge).await);
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let message = status.message();
    assert!(
        message.contains(&huge.len().to_string()) && message.contains("2048"),
        "says the size seen and the cap: {message}"
    );

    // The HTTP front refuses it the same way, with 401.
    let answer = curl(
        "POST",
        &subscription.endpoint,
        "--http1.1",
        &[
            ("authorization", &huge),
            ("ttl", "60"),
            ("content-encoding", "aes128gcm"),
        ],
        Some(&encrypt_for(&subscription, "big")),
        None,
    );
    assert_eq!(answer.status, 401, "{answer:?}");
    assert!(answer.message().contains("2048"), "{answer:?}");

    // Parameters RFC 8292 does not define, or given twice, are refused.
    let valid = header_for(&sender.key, &audience, "mailto:ops@example.com", exp);
    let token = valid
        .split("t=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("t=");
    for (bad, names) in [
        (format!("{valid}, pad=xxxxxxxxxxxx"), "pad"),
        (
            format!(
                "vapid t={token}, t={token}, k={}",
                sender.key.public_key_b64()
            ),
            "t=",
        ),
    ] {
        let body = encrypt_for(&subscription, "padded");
        let status = refused(submit_as(&mut sender, &subscription.endpoint, body, &bad).await);
        assert_eq!(status.code(), Code::Unauthenticated, "{bad}: {status:?}");
        assert!(status.message().contains(names), "{bad}: {status:?}");
    }

    // The plain header still goes through.
    let body = encrypt_for(&subscription, "fine");
    submit_as(&mut sender, &subscription.endpoint, body, &valid)
        .await
        .expect("a plain VAPID header is accepted");
    drop(pushd);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_distinct_tokens_stays_within_the_cache_budget() {
    let pushd = Pushd::start(&[
        "--vapid-cache-bytes",
        &CACHE_BYTES.to_string(),
        "--sender-rate",
        "0",
    ]);
    let mut device = RawDevice::register(&pushd.url).await;
    let subscription = device.subscribe(None).await;
    let mut legitimate = Senders::new(&pushd.url).await;
    let mut attacker = Senders::new(&pushd.url).await;
    // A real endpoint's shape with a token this service never made.
    let nowhere = format!(
        "{}{}",
        &subscription.endpoint[..subscription.endpoint.len() - 4],
        "AAAA"
    );
    // A well-formed body, so the only refusal left is the unknown endpoint.
    let body = encrypt_for(&subscription, "to nowhere");
    let audience = attacker.audience.clone();
    let now = now_secs();
    // Grow the subject until the header is just under 2 KiB (base64 makes
    // each subject byte 4/3 of a header byte).
    let header_of = |filler: usize| {
        header_for(
            &attacker.key,
            &audience,
            &long_subject(filler, 99_999),
            now + 3600,
        )
        .len()
    };
    let mut filler = (2000 - header_of(0)) * 3 / 4 + 8;
    while header_of(filler) > 2000 {
        filler -= 1;
    }

    // Warm-up with one token, so buffers and tables exist before the baseline.
    let warm = header_for(
        &attacker.key,
        &audience,
        &long_subject(filler, 0),
        now + 3600,
    );
    for _ in 0..300 {
        let status = submit_as(&mut attacker, &nowhere, body.clone(), &warm)
            .await
            .expect_err("nowhere");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    let baseline = rss_kib(pushd.pid());

    const TOKENS: usize = 6000;
    let mut header_bytes = 0;
    for n in 1..=TOKENS {
        let header = header_for(
            &attacker.key,
            &audience,
            &long_subject(filler, n),
            now + 3600,
        );
        header_bytes += header.len();
        let status = submit_as(&mut attacker, &nowhere, body.clone(), &header)
            .await
            .expect_err("nowhere");
        assert_eq!(status.code(), Code::NotFound, "token {n}: {status:?}");
        if n % 500 == 0 {
            legitimate
                .send_text(&subscription, &format!("still here at {n}"), 60)
                .await;
        }
    }
    let grown = rss_kib(pushd.pid()).saturating_sub(baseline);
    // What keeping every token costs at least: its header and its subject.
    let kept_by_header = (header_bytes + TOKENS * (filler + 30)) / 1024;
    eprintln!(
        "{TOKENS} tokens of ~{} bytes: RSS grew {grown} KiB; keeping each would take >= {kept_by_header} KiB",
        header_bytes / TOKENS
    );
    assert!(
        grown < 8 * 1024,
        "RSS grew {grown} KiB with a {CACHE_BYTES}-byte token cache (keeping every token: >= {kept_by_header} KiB)"
    );
    let metrics = pushd.metrics();
    let cached = metric(&metrics, "pushd_vapid_cache_bytes").expect("cache bytes gauge");
    assert!(
        cached <= CACHE_BYTES as f64,
        "cache holds {cached} bytes, budget {CACHE_BYTES}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_spelled_many_ways_is_one_cache_entry() {
    let Setup {
        pushd,
        device: _device,
        subscription,
        mut sender,
    } = Setup::new(&[]).await;
    let jwt = sender
        .key
        .sign(
            &sender.audience,
            "mailto:ops@example.com",
            now_secs() + 3600,
        )
        .expect("sign");
    let key = sender.key.public_key_b64();
    let spellings = [
        format!("vapid t={jwt}, k={key}"),
        format!("vapid k={key}, t={jwt}"),
        format!("VAPID t={jwt},k={key}"),
        format!("vapid   t={jwt} ,   k={key}  "),
        format!("vapid t={jwt}, k={key}="),
        format!("vapid t={}, k={key}", malleated(&jwt)),
    ];
    for spelling in &spellings {
        let body = encrypt_for(&subscription, "same sender");
        submit_as(&mut sender, &subscription.endpoint, body, spelling)
            .await
            .unwrap_or_else(|status| panic!("{spelling}: {status:?}"));
    }
    let metrics = pushd.metrics();
    assert_eq!(
        metric(&metrics, "pushd_vapid_cache_entries"),
        Some(1.0),
        "one token, one entry, however it is spelled:\n{metrics}"
    );
}
