//! Real web-push libraries nobody here wrote, installed from their
//! registries, send to the real pushd unchanged: pywebpush (PyPI), npm
//! `web-push`, `webpush-go` (Go module proxy) and `nl.martijndwars:web-push`
//! (Maven Central). Each one's message is decrypted by the device to the
//! exact plaintext, over plaintext HTTP and over TLS, and each sees the
//! status codes it acts on: 201 + Location, 404 vs 410, 413, 429 +
//! Retry-After, 403 for a subscription bound to another key, 401 for a
//! VAPID token signed for another origin.

mod support;

use std::path::Path;

use support::tls::TestCa;
use support::webpush::{LibraryAnswer, Payload, RawVapid, library_folder, library_send};
use support::{Pushd, Setup};

fn opened(setup: &Setup, messages: &[push_proto::v1::PushMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|message| support::raw::decrypt_text(&setup.subscription, message))
        .collect()
}

/// Sends `text` with the library and checks the device opens it.
async fn delivered(
    folder: &Path,
    library: &str,
    setup: &mut Setup,
    endpoint: &str,
    vapid: &RawVapid,
    ca: Option<&Path>,
) {
    let text = format!("from {library} over {endpoint}");
    let answer = library_send(
        folder,
        library,
        endpoint,
        &setup.subscription,
        vapid,
        Payload::Text(&text),
        ca,
    );
    assert_eq!(answer.status, 201, "{library}: {answer:?}");
    let location = answer.location.as_deref().unwrap_or_default();
    assert!(location.contains("/m/"), "{library}: Location {location:?}");
    assert_eq!(answer.ttl.as_deref(), Some("600"), "{library}: {answer:?}");
    let messages = setup.device.fetch(&[]).await;
    assert_eq!(opened(setup, &messages), vec![text], "{library}");
}

fn refused(answer: &LibraryAnswer, status: u16, library: &str, case: &str) {
    assert_eq!(answer.status, status, "{library}, {case}: {answer:?}");
    let body: serde_json::Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|_| panic!("{library}, {case}: a JSON body, got {:?}", answer.body));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{library}, {case}"
    );
}

async fn library_works_end_to_end(library: &str) {
    let Some(folder) = library_folder() else {
        return;
    };
    let vapid = RawVapid::generate();
    let mut setup = Setup::new(&["--max-queued-messages", "2"]).await;
    let subscription = setup.device.subscribe(Some(vapid.public.clone())).await;
    setup.subscription = subscription;
    let endpoint = setup.subscription.endpoint.clone();
    delivered(&folder, library, &mut setup, &endpoint, &vapid, None).await;

    let send = |endpoint: &str, setup: &Setup, payload: Payload<'_>| {
        library_send(
            &folder,
            library,
            endpoint,
            &setup.subscription,
            &vapid,
            payload,
            None,
        )
    };
    let text = Payload::Text("refused");
    // Still queued from above (not acked) plus one: the queue of 2 is full.
    let _second = send(&endpoint, &setup, Payload::Text("second"));
    let full = send(&endpoint, &setup, Payload::Text("third"));
    refused(&full, 429, library, "queue full");
    assert_eq!(
        full.retry_after.as_deref(),
        Some("60"),
        "{library}: {full:?}"
    );

    let large = send(&endpoint, &setup, Payload::Size(5000));
    refused(&large, 413, library, "5000 bytes");

    let other_origin = endpoint.replacen("127.0.0.1", "localhost", 1);
    let wrong_audience = send(&other_origin, &setup, Payload::Text("aud"));
    refused(&wrong_audience, 401, library, "VAPID for another origin");

    let forged = format!("{}/push/{}", setup.pushd.url, "A".repeat(68));
    refused(
        &send(&forged, &setup, Payload::Text("forged")),
        404,
        library,
        "unknown endpoint",
    );

    let bound_elsewhere = setup
        .device
        .subscribe(Some(RawVapid::generate().public))
        .await;
    let other_key = library_send(
        &folder,
        library,
        &bound_elsewhere.endpoint,
        &bound_elsewhere,
        &vapid,
        Payload::Text("k"),
        None,
    );
    refused(
        &other_key,
        403,
        library,
        "subscription bound to another key",
    );

    setup.device.unsubscribe(&setup.subscription.id).await;
    refused(
        &send(&endpoint, &setup, text),
        410,
        library,
        "removed subscription",
    );

    // The same library over TLS (HTTP/2 where it negotiates it).
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(dir.path());
    let (cert, key) = (
        ca.cert_file.to_str().expect("path"),
        ca.key_file.to_str().expect("path"),
    );
    let pushd = Pushd::start(&["--tls-cert-file", cert, "--tls-key-file", key]);
    let https = pushd.url.replacen("http://", "https://", 1);
    let mut secure = Setup::over(pushd, &https, Some(&ca)).await;
    secure.subscription = secure.device.subscribe(Some(vapid.public.clone())).await;
    let endpoint = secure.subscription.endpoint.clone();
    delivered(
        &folder,
        library,
        &mut secure,
        &endpoint,
        &vapid,
        Some(&ca.ca_file),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pywebpush_sends_unchanged() {
    library_works_end_to_end("python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_web_push_sends_unchanged() {
    library_works_end_to_end("node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webpush_go_sends_unchanged() {
    library_works_end_to_end("go").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_web_push_sends_unchanged() {
    library_works_end_to_end("java").await;
}
