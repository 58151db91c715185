//! The `pushctl` binary end to end against the fake pushd: output shapes, file modes, errors.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use push_proto::v1::PushMessage;
use push_proto::v1::client_frame::Frame as ClientFrame;
use push_proto::v1::server_frame::Frame as ServerFrame;
use push_sdk::subscription::SubscriptionInfo;
use push_sdk::vapid::VapidKey;
use serde_json::{Value, json};
use support::FakePushd;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn pushctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pushctl"));
    command
        .env_remove("PUSHCTL_SERVER")
        .env_remove("PUSHCTL_DB")
        .kill_on_drop(true);
    command
}

async fn run(args: &[&str]) -> Output {
    pushctl().args(args).output().await.expect("pushctl runs")
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "pushctl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON line")
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn keygen_writes_a_private_pem_once() {
    let dir = tempfile::tempdir().unwrap();
    let pem_path = dir.path().join("vapid.pem");
    let output = run(&["keygen", "--out", path(&pem_path)]).await;
    assert!(output.status.success());
    let key = VapidKey::from_pem(&std::fs::read_to_string(&pem_path).unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        key.public_key_b64()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pem_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again = run(&["keygen", "--out", path(&pem_path)]).await;
    assert!(!again.status.success());
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("pushctl: cannot create"), "{stderr}");
}

#[tokio::test]
async fn register_subscribe_send_listen() {
    let mut fake = FakePushd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (db, pem, sub_file) = (
        dir.path().join("device.db"),
        dir.path().join("vapid.pem"),
        dir.path().join("sub.json"),
    );

    let output = run(&["register", "--server", &fake.url, "--db", path(&db)]).await;
    assert_eq!(String::from_utf8(output.stdout).unwrap().trim(), "device-1");
    assert!(run(&["keygen", "--out", path(&pem)]).await.status.success());
    let output = run(&["subscribe", "--db", path(&db)]).await;
    let subscription = stdout_json(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("subscription id: sub-1"));
    std::fs::write(&sub_file, subscription.to_string()).unwrap();
    SubscriptionInfo::from_json(&subscription.to_string()).unwrap();

    let sub_arg = format!("@{}", path(&sub_file));
    let send_args = [
        "send",
        "--server",
        &fake.url,
        "--key",
        path(&pem),
        "--subject",
        "mailto:ops@example.com",
    ];
    let output = run(&[
        &send_args[..],
        &[
            "--subscription",
            &sub_arg,
            "--ttl",
            "60",
            "--urgency",
            "high",
            "--topic",
            "news",
            "héllo",
        ],
    ]
    .concat())
    .await;
    assert_eq!(
        stdout_json(&output),
        json!({"message_id": "msg-1", "outcome": "stored", "ttl_seconds": 60, "devices": 1, "devices_full": 0, "location": ""})
    );
    let output = run(&[&send_args[..], &["--subscription", "{oops", "x"]].concat()).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.lines().count() == 1 && stderr.contains("not valid JSON"),
        "{stderr}"
    );

    let mut listener = pushctl()
        .args(["listen", "--db", path(&db), "--min-urgency", "low"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut conn = fake.next_stream().await;
    assert!(matches!(conn.next_frame().await, ClientFrame::Hello(hello) if hello.min_urgency == 2));
    let payload = fake.recorded.lock().unwrap().submitted[0].1.payload.clone();
    conn.send(ServerFrame::Message(PushMessage {
        message_id: "m1".into(),
        subscription_id: "sub-1".into(),
        payload,
        urgency: 4,
        topic: "news".into(),
        ..Default::default()
    }))
    .await;
    let mut lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let expected = json!({"message_id": "m1", "subscription_id": "sub-1", "topic": "news", "urgency": "high", "payload": "héllo"});
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), expected);
    assert!(matches!(conn.next_frame().await, ClientFrame::Ack(ack) if ack.message_ids == ["m1"]));

    #[cfg(unix)]
    {
        let pid = listener.id().unwrap().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .await
                .unwrap()
                .success()
        );
        let status = tokio::time::timeout(Duration::from_secs(10), listener.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "Ctrl-C is a clean exit: {status}");
    }
}
