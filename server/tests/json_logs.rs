//! `--log-format json`: every line pushd writes is one JSON object with the
//! fields a log collector indexes, and a message's trip through pushd
//! (submit, store, delivery, ack) leaves no secret in any line.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use push_proto::v1 as pb;
use support::Setup;
use support::raw::{Senders, encrypt_for, push_sdk_b64, with_auth};

/// Every spelling of `bytes` a log line could carry it in.
fn spellings(name: &str, bytes: &[u8]) -> Vec<(String, String)> {
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let debug = format!("{:?}", &bytes[..bytes.len().min(12)]);
    [
        STANDARD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex,
        debug.trim_end_matches(']').to_owned(),
    ]
    .into_iter()
    .map(|spelled| (name.to_owned(), spelled))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_parse_and_carry_no_payload_key_or_credential() {
    let Setup {
        pushd,
        mut device,
        subscription,
        mut sender,
    } = Setup::new(&["--log-format", "json"]).await;

    let payload = encrypt_for(&subscription, "the note only alice may read");
    let authorization = sender.authorization();
    let request = Senders::request(&subscription.endpoint, payload.clone(), 600);
    let accepted = sender
        .client
        .submit_message(with_auth(request, &authorization))
        .await
        .expect("submit")
        .into_inner();
    let mut stream = device.listen(pb::Hello::default()).await.expect("listen");
    let delivered = stream.backlog().await;
    assert_eq!(delivered[0].message_id, accepted.message_id);
    stream.ack(std::slice::from_ref(&accepted.message_id)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stream);
    // A refused submission is on the path too.
    let mut wrong = Senders::request(&subscription.endpoint, payload.clone(), 600);
    wrong.endpoint.push('x');
    let _ = sender
        .client
        .submit_message(with_auth(wrong, &authorization))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let pem = sender.key.to_pem();
    let private = openssl::pkey::PKey::private_key_from_pem(pem.as_bytes())
        .and_then(|key| key.ec_key())
        .expect("the sender's P-256 key")
        .private_key()
        .to_vec();
    let token = subscription
        .endpoint
        .rsplit('/')
        .next()
        .expect("endpoint token");
    let mut secrets = spellings("the payload", &payload);
    secrets.extend(spellings("the VAPID private key", &private));
    secrets.extend(spellings(
        "the VAPID public key",
        &sender.key.public_key_raw(),
    ));
    secrets.extend(spellings(
        "the subscription's auth secret",
        subscription.keys.auth_secret(),
    ));
    secrets.push((
        "the subscription's auth secret".into(),
        push_sdk_b64(subscription.keys.auth_secret()),
    ));
    secrets.push(("the device credential".into(), device.credential.clone()));
    secrets.push(("the VAPID authorization".into(), authorization.clone()));
    secrets.push(("the endpoint token".into(), token.to_owned()));
    secrets.extend(
        pem.lines()
            .filter(|line| !line.starts_with("-----"))
            .map(|line| ("the VAPID key's PEM".to_owned(), line.to_owned())),
    );

    let lines = pushd.log_lines();
    assert!(
        lines.iter().any(|line| line.contains("pushd listening")),
        "{lines:#?}"
    );
    for line in &lines {
        let object: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not one JSON object ({error}): {line}"));
        for key in ["timestamp", "level", "target", "fields"] {
            assert!(object.get(key).is_some(), "no {key}: {line}");
        }
        assert!(
            object["fields"]["message"].is_string(),
            "no message: {line}"
        );
        let raw_payload = payload
            .windows(8)
            .any(|window| line.as_bytes().windows(8).any(|bytes| bytes == window));
        assert!(!raw_payload, "raw payload bytes in: {line}");
        for (what, spelled) in &secrets {
            assert!(
                spelled.len() < 8 || !line.contains(spelled.as_str()),
                "{what} ({spelled}) in: {line}"
            );
        }
    }
}
