//! The RFC 8030 HTTP front of the real pushd, spoken by `curl`: a message
//! sent over HTTP/1.1 and HTTP/2, plaintext and TLS, on the gRPC port, that
//! the device decrypts; every refusal with the status code web-push
//! libraries act on; cancel by the sender; and no request that is not gRPC
//! ever answered with a 2xx by the gRPC routes.

mod support;

use support::raw::{Senders, encrypt_for};
use support::tls::TestCa;
use support::webpush::{Answer, curl};
use support::{Pushd, Setup};

fn post(
    setup: &Setup,
    url: &str,
    version: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    ca: Option<&std::path::Path>,
) -> Answer {
    let authorization = setup.sender.authorization();
    let mut all = vec![("authorization", authorization.as_str())];
    all.extend_from_slice(headers);
    curl("POST", url, version, &all, Some(body), ca)
}

const PUSH_HEADERS: [(&str, &str); 2] = [("ttl", "600"), ("content-encoding", "aes128gcm")];

/// Sends `text` and checks the 201, the Location and the device's copy.
async fn send_and_open(
    setup: &mut Setup,
    base: &str,
    version: &str,
    ca: Option<&std::path::Path>,
    text: &str,
) {
    let endpoint = setup
        .subscription
        .endpoint
        .replacen(&setup.pushd.url, base, 1);
    let body = encrypt_for(&setup.subscription, text);
    let answer = post(setup, &endpoint, version, &PUSH_HEADERS, &body, ca);
    assert_eq!(answer.status, 201, "{answer:?}");
    let location = answer.header("location").expect("Location");
    assert!(
        location.starts_with(&format!("{base}/m/")),
        "{location} is a message URL of {base}"
    );
    assert_eq!(answer.header("ttl"), Some("600"));
    let messages = setup.device.fetch(&[]).await;
    let opened: Vec<String> = messages
        .iter()
        .map(|message| support::raw::decrypt_text(&setup.subscription, message))
        .collect();
    assert!(opened.iter().any(|opened| opened == text), "{opened:?}");
    let ids: Vec<String> = messages
        .into_iter()
        .map(|message| message.message_id)
        .collect();
    ack(setup, &ids).await;
}

async fn ack(setup: &mut Setup, ids: &[String]) {
    use push_proto::v1 as pb;
    let request = pb::AckMessagesRequest {
        message_ids: ids.to_vec(),
    };
    let bearer = setup.device.bearer();
    setup
        .device
        .client
        .ack_messages(support::raw::with_auth(request, &bearer))
        .await
        .expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_posted_over_http_reaches_the_device_over_every_transport() {
    let mut setup = Setup::new(&[]).await;
    let base = setup.pushd.url.clone();
    send_and_open(&mut setup, &base, "--http1.1", None, "over HTTP/1.1").await;
    send_and_open(
        &mut setup,
        &base,
        "--http2-prior-knowledge",
        None,
        "over h2c",
    )
    .await;

    let folder = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(folder.path());
    let cert = ca.cert_file.to_str().expect("path");
    let key = ca.key_file.to_str().expect("path");
    let pushd = Pushd::start(&["--tls-cert-file", cert, "--tls-key-file", key]);
    let https = pushd.url.replacen("http://", "https://", 1);
    let mut secure = Setup::over(pushd, &https, Some(&ca)).await;
    let ca_file = Some(ca.ca_file.as_path());
    send_and_open(&mut secure, &https, "--http1.1", ca_file, "over HTTPS/1.1").await;
    send_and_open(&mut secure, &https, "--http2", ca_file, "over h2 (ALPN)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_the_status_codes_web_push_libraries_act_on() {
    let mut setup = Setup::new(&[]).await;
    let endpoint = setup.subscription.endpoint.clone();
    let body = encrypt_for(&setup.subscription, "hello");
    let h1 = "--http1.1";

    let no_ttl = post(
        &setup,
        &endpoint,
        h1,
        &[("content-encoding", "aes128gcm")],
        &body,
        None,
    );
    assert_eq!(no_ttl.status, 400, "{no_ttl:?}");
    assert!(no_ttl.message().contains("TTL"), "{no_ttl:?}");

    let old = [("ttl", "60"), ("content-encoding", "aesgcm")];
    let aesgcm = post(&setup, &endpoint, h1, &old, &body, None);
    assert_eq!(aesgcm.status, 415, "{aesgcm:?}");
    assert!(aesgcm.message().contains("aes128gcm"), "{aesgcm:?}");

    let unsigned = curl("POST", &endpoint, h1, &PUSH_HEADERS, Some(&body), None);
    assert_eq!(unsigned.status, 401, "{unsigned:?}");
    assert!(unsigned.message().contains("VAPID"), "{unsigned:?}");

    let big = vec![0u8; 5000];
    let too_large = post(&setup, &endpoint, h1, &PUSH_HEADERS, &big, None);
    assert_eq!(too_large.status, 413, "{too_large:?}");

    let bad_urgency = [
        ("ttl", "60"),
        ("content-encoding", "aes128gcm"),
        ("urgency", "now"),
    ];
    let urgency = post(&setup, &endpoint, h1, &bad_urgency, &body, None);
    assert_eq!(urgency.status, 400, "{urgency:?}");

    let forged = format!("{}/push/{}", setup.pushd.url, "A".repeat(68));
    let unknown = post(&setup, &forged, h1, &PUSH_HEADERS, &body, None);
    assert_eq!(unknown.status, 404, "{unknown:?}");

    // A subscription bound to one key refuses every other.
    let bound_key = Senders::new(&setup.pushd.url).await.key.public_key_raw();
    let bound = setup.device.subscribe(Some(bound_key)).await;
    let wrong_key = post(&setup, &bound.endpoint, h1, &PUSH_HEADERS, &body, None);
    assert_eq!(wrong_key.status, 403, "{wrong_key:?}");

    // Removed: 410, so libraries delete it.
    setup.device.unsubscribe(&setup.subscription.id).await;
    let gone = post(&setup, &endpoint, h1, &PUSH_HEADERS, &body, None);
    assert_eq!(gone.status, 410, "{gone:?}");
    assert!(gone.message().contains("removed"), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_grpc_and_known_routes_gets_a_2xx() {
    let setup = Setup::new(&[]).await;
    let url = &setup.pushd.url;
    // The silent-loss case: HTTP/2 POSTs that are not gRPC, to the gRPC port.
    for path in ["/", "/anything", "/push.v1.Sender/SubmitMessage"] {
        let answer = post(
            &setup,
            &format!("{url}{path}"),
            "--http2-prior-knowledge",
            &[("content-type", "application/json")],
            b"{}",
            None,
        );
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
        assert!(answer.header("grpc-status").is_none(), "{answer:?}");
    }
    let discovery = curl(
        "GET",
        &setup.subscription.endpoint,
        "--http1.1",
        &[],
        None,
        None,
    );
    assert_eq!(discovery.status, 200, "{discovery:?}");
    let json: serde_json::Value = serde_json::from_str(&discovery.body).expect("json");
    assert_eq!(json["unifiedpush"]["version"], 1);
    let put = curl(
        "PUT",
        &setup.subscription.endpoint,
        "--http1.1",
        &[],
        None,
        None,
    );
    assert_eq!(put.status, 405, "{put:?}");
    assert_eq!(put.header("allow"), Some("POST, GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_cancels_a_message_no_device_has_acked() {
    let mut setup = Setup::new(&[]).await;
    let body = encrypt_for(&setup.subscription, "cancel me");
    let endpoint = setup.subscription.endpoint.clone();
    let sent = post(&setup, &endpoint, "--http1.1", &PUSH_HEADERS, &body, None);
    assert_eq!(sent.status, 201, "{sent:?}");
    let location = sent.header("location").expect("Location").to_owned();

    let other = Senders::new(&setup.pushd.url).await.authorization();
    let stranger = curl(
        "DELETE",
        &location,
        "--http1.1",
        &[("authorization", &other)],
        None,
        None,
    );
    assert_eq!(stranger.status, 403, "{stranger:?}");
    let unsigned = curl("DELETE", &location, "--http1.1", &[], None, None);
    assert_eq!(unsigned.status, 401, "{unsigned:?}");

    let own = setup.sender.authorization();
    let cancelled = curl(
        "DELETE",
        &location,
        "--http1.1",
        &[("authorization", &own)],
        None,
        None,
    );
    assert_eq!(cancelled.status, 204, "{cancelled:?}");
    assert!(
        setup.device.fetch(&[]).await.is_empty(),
        "cancelled before the device came"
    );
    let again = curl(
        "DELETE",
        &location,
        "--http1.1",
        &[("authorization", &own)],
        None,
        None,
    );
    assert_eq!(again.status, 404, "{again:?}");

    // An acked message is no longer the sender's to cancel.
    let body = encrypt_for(&setup.subscription, "read");
    let sent = post(&setup, &endpoint, "--http1.1", &PUSH_HEADERS, &body, None);
    let location = sent.header("location").expect("Location").to_owned();
    let ids: Vec<String> = setup
        .device
        .fetch(&[])
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(ids.len(), 1);
    ack(&mut setup, &ids).await;
    let late = curl(
        "DELETE",
        &location,
        "--http1.1",
        &[("authorization", &own)],
        None,
        None,
    );
    assert_eq!(late.status, 404, "{late:?}");
}

/// pushctl is built beside pushd by `cargo build --workspace` (the test command does).
fn pushctl(args: &[&str]) -> serde_json::Value {
    let path = std::path::PathBuf::from(env!("CARGO_BIN_EXE_pushd")).with_file_name("pushctl");
    let output = std::process::Command::new(&path)
        .args(args)
        .env_remove("PUSHCTL_SERVER")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "{}: {error} (cargo build --workspace first)",
                path.display()
            )
        });
    assert!(
        output.status.success(),
        "pushctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushctl_sends_to_the_endpoints_own_service_over_grpc_and_http() {
    let mut setup = Setup::new(&[]).await;
    let folder = tempfile::tempdir().expect("temp dir");
    let pem = folder.path().join("vapid.pem");
    let pem = pem.to_str().expect("path");
    let keygen = std::process::Command::new(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_pushd")).with_file_name("pushctl"),
    )
    .args(["keygen", "--out", pem])
    .output()
    .expect("keygen");
    assert!(keygen.status.success());
    let sub = serde_json::json!({
        "endpoint": setup.subscription.endpoint,
        "keys": {
            "p256dh": support::raw::push_sdk_b64(setup.subscription.keys.public_key()),
            "auth": support::raw::push_sdk_b64(setup.subscription.keys.auth_secret()),
        }
    })
    .to_string();
    let common = [
        "send",
        "--key",
        pem,
        "--subject",
        "mailto:ops@example.com",
        "--subscription",
    ];
    // No --server: the endpoint's own origin, as a web-push library does.
    let mut grpc = common.to_vec();
    grpc.extend([sub.as_str(), "over gRPC"]);
    let over_grpc = pushctl(&grpc);
    assert_eq!(over_grpc["outcome"], "stored", "{over_grpc}");
    let mut http = common.to_vec();
    http.extend([sub.as_str(), "--http", "--receipt", "over HTTP"]);
    let over_http = pushctl(&http);
    assert_eq!(over_http["outcome"], "stored", "{over_http}");
    let location = over_http["location"].as_str().expect("location");
    assert!(
        location.starts_with(&format!("{}/m/", setup.pushd.url)),
        "{over_http}"
    );

    let messages = setup.device.fetch(&[]).await;
    let mut texts: Vec<String> = messages
        .iter()
        .map(|message| support::raw::decrypt_text(&setup.subscription, message))
        .collect();
    texts.sort();
    assert_eq!(texts, ["over HTTP", "over gRPC"]);
    let ids: Vec<String> = messages.into_iter().map(|m| m.message_id).collect();
    assert!(ids.contains(&over_http["message_id"].as_str().expect("id").to_owned()));
    ack(&mut setup, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_rate_limit_answers_429_with_retry_after() {
    // 1 message a second per sender key, bursts of 10: 20 at once overflow it.
    let setup = Setup::new(&["--sender-rate", "1"]).await;
    let body = encrypt_for(&setup.subscription, "fast");
    let endpoint = setup.subscription.endpoint.clone();
    let answers: Vec<Answer> = (0..20)
        .map(|_| post(&setup, &endpoint, "--http1.1", &PUSH_HEADERS, &body, None))
        .collect();
    let refused: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.status == 429)
        .collect();
    assert!(!refused.is_empty(), "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer.status, 201 | 429)),
        "{answers:?}"
    );
    let first = refused[0];
    assert!(
        first
            .header("retry-after")
            .is_some_and(|seconds| seconds.parse::<u64>().is_ok_and(|s| s >= 1)),
        "{first:?}"
    );
    assert!(first.message().contains("sender key"), "{first:?}");
    let metrics = setup.pushd.metrics();
    assert!(
        metrics.contains("pushd_rate_limited_total{limit=\"sender key\"}"),
        "{metrics}"
    );
}
