//! DeviceClient and Sender against a scripted fake pushd: metadata, frame order, acks after
//! the handler, dedup, bad messages, reconnects and GoAway.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_proto::v1::client_frame::Frame as ClientFrame;
use push_proto::v1::server_frame::Frame as ServerFrame;
use push_proto::v1::{BacklogDone, GoAway, GoAwayReason, Hello, PushMessage, SetMinUrgency};
use push_sdk::store::{DeviceRecord, KeyStore};
use push_sdk::vapid::VapidKey;
use push_sdk::{
    DeviceClient, ListenEnd, ListenOptions, Notification, Outcome, Presence, SdkError, SendOptions,
    Sender, Urgency,
};
use support::{CREDENTIAL, FakePushd, StreamConn};
use tokio::sync::{mpsc, oneshot};

fn quick_options() -> ListenOptions {
    let mut options = ListenOptions::default().with_min_urgency(Urgency::Low);
    options.backoff_initial = Duration::from_millis(10);
    options.backoff_max = Duration::from_millis(50);
    options
}

fn message(id: &str, subscription_id: &str, payload: Vec<u8>) -> ServerFrame {
    ServerFrame::Message(PushMessage {
        message_id: id.into(),
        subscription_id: subscription_id.into(),
        payload,
        urgency: Urgency::High.into(),
        topic: "t".into(),
        received_at_unix_ms: 42,
        expires_at_unix_ms: 0,
    })
}

/// Collects acked ids until `expected` are all in, skipping other frames.
async fn acked_ids(conn: &mut StreamConn, expected: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < expected {
        if let ClientFrame::Ack(ack) = conn.next_frame().await {
            ids.extend(ack.message_ids);
        }
    }
    ids.sort();
    ids
}

fn jwt_claims(authorization: &str) -> serde_json::Value {
    let jwt = authorization
        .strip_prefix("vapid t=")
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let claims = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap()
}

#[tokio::test]
async fn register_subscribe_send_and_listen() {
    let mut fake = FakePushd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let vapid = VapidKey::generate().unwrap();

    let client = DeviceClient::open(&fake.url, &db).await.unwrap();
    assert_eq!(client.device_id(), "device-1");
    let info = client
        .subscribe(Some(&vapid.public_key_raw()))
        .await
        .unwrap();
    assert_eq!(info.endpoint, format!("{}/p/token-sub-1", fake.url));
    {
        let recorded = fake.recorded.lock().unwrap();
        let (authorization, request) = &recorded.subscribe_requests[0];
        assert_eq!(authorization, &format!("Bearer {CREDENTIAL}"));
        assert_eq!(
            (&request.p256dh, &request.auth),
            (&info.keys.p256dh, &info.keys.auth)
        );
        assert_eq!(request.app_server_key, vapid.public_key_raw());
    }
    // Reopening reuses the credential; another server is refused.
    let client = DeviceClient::open(&fake.url, &db).await.unwrap();
    assert_eq!(fake.recorded.lock().unwrap().registrations, 1);
    assert!(matches!(
        DeviceClient::open("http://127.0.0.1:1", &db).await,
        Err(SdkError::ServerMismatch { .. })
    ));
    assert_eq!(client.subscriptions().unwrap().len(), 1);

    // Sending: VAPID metadata, audience = the endpoint's origin, one token reused.
    assert!(matches!(
        Sender::connect(&fake.url, vapid.clone(), "ops@example.com").await,
        Err(SdkError::InvalidSubject(_))
    ));
    let sender = Sender::connect(&fake.url, vapid.clone(), "mailto:ops@example.com")
        .await
        .unwrap();
    let options = SendOptions {
        ttl_seconds: 60,
        urgency: Urgency::High,
        topic: Some("t".into()),
        receipt: false,
    };
    let receipt = sender
        .send(&info, b"hello device", options.clone())
        .await
        .unwrap();
    assert_eq!(
        (
            receipt.message_id.as_str(),
            receipt.outcome,
            receipt.ttl_seconds
        ),
        ("msg-1", Outcome::Stored, 60)
    );
    sender.send(&info, b"second", options).await.unwrap();
    let (authorization, submitted) = fake.recorded.lock().unwrap().submitted[0].clone();
    assert_eq!(
        fake.recorded.lock().unwrap().submitted[1].0,
        authorization,
        "token is cached"
    );
    assert!(authorization.ends_with(&format!(", k={}", vapid.public_key_b64())));
    let claims = jwt_claims(&authorization);
    assert_eq!(claims["aud"], serde_json::json!(fake.url));
    assert_eq!(claims["sub"], serde_json::json!("mailto:ops@example.com"));
    assert_eq!(
        (
            submitted.endpoint.as_str(),
            submitted.urgency,
            submitted.topic.as_str()
        ),
        (info.endpoint.as_str(), Urgency::High as i32, "t")
    );

    // Listening: Hello first; ack only after the handler returned; duplicates and
    // unopenable messages are acked without reaching the handler.
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Notification>();
    let handler_done = Arc::new(AtomicBool::new(false));
    let options = quick_options();
    let handle = options.handle();
    let listener = {
        let (client, handler_done) = (client.clone(), Arc::clone(&handler_done));
        tokio::spawn(async move {
            let handler = move |notification: Notification| {
                let (seen_tx, handler_done) = (seen_tx.clone(), Arc::clone(&handler_done));
                async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    seen_tx.send(notification).unwrap();
                    handler_done.store(true, Ordering::SeqCst);
                }
            };
            client
                .listen(handler, options, std::future::pending())
                .await
        })
    };
    let mut conn = fake.next_stream().await;
    assert_eq!(conn.authorization, format!("Bearer {CREDENTIAL}"));
    let hello = Hello {
        presence: Presence::Active.into(),
        min_urgency: Urgency::Low.into(),
    };
    assert_eq!(conn.next_frame().await, ClientFrame::Hello(hello));
    conn.send(message("m1", "sub-1", submitted.payload.clone()))
        .await;
    conn.send(message("m2", "sub-unknown", submitted.payload.clone()))
        .await;
    conn.send(message("m3", "sub-1", b"not ciphertext".to_vec()))
        .await;
    conn.send(message("m1", "sub-1", submitted.payload.clone()))
        .await;
    conn.send(ServerFrame::BacklogDone(BacklogDone { sent: 4 }))
        .await;
    let first_ack = loop {
        if let ClientFrame::Ack(ack) = conn.next_frame().await {
            break ack;
        }
    };
    assert!(
        handler_done.load(Ordering::SeqCst),
        "acked before the handler returned"
    );
    let mut acked = first_ack.message_ids;
    while acked.len() < 4 {
        acked.extend(acked_ids(&mut conn, 1).await);
    }
    acked.sort();
    assert_eq!(acked, ["m1", "m1", "m2", "m3"]);
    let notification = seen_rx.recv().await.unwrap();
    assert_eq!(notification.payload, b"hello device");
    assert_eq!(
        (
            notification.message_id.as_str(),
            notification.subscription_id.as_str()
        ),
        ("m1", "sub-1")
    );
    assert_eq!(
        (
            notification.urgency,
            notification.topic.as_deref(),
            notification.received_at_unix_ms
        ),
        (Urgency::High, Some("t"), 42)
    );

    // Settings changes go out on the live stream and survive a reconnect.
    handle.set_min_urgency(Urgency::High);
    assert_eq!(
        conn.next_frame().await,
        ClientFrame::MinUrgency(SetMinUrgency {
            min_urgency: Urgency::High.into()
        })
    );
    conn.send(ServerFrame::GoAway(GoAway {
        reason: GoAwayReason::Draining.into(),
        detail: "restart".into(),
    }))
    .await;
    let mut conn = fake.next_stream().await;
    let hello = Hello {
        presence: Presence::Active.into(),
        min_urgency: Urgency::High.into(),
    };
    assert_eq!(conn.next_frame().await, ClientFrame::Hello(hello));
    // Redelivery of an already handled message after the reconnect: acked, not re-handled.
    conn.send(message("m1", "sub-1", submitted.payload.clone()))
        .await;
    assert_eq!(acked_ids(&mut conn, 1).await, ["m1"]);
    conn.send(ServerFrame::GoAway(GoAway {
        reason: GoAwayReason::Replaced.into(),
        detail: String::new(),
    }))
    .await;
    assert_eq!(listener.await.unwrap().unwrap(), ListenEnd::Replaced);
    assert!(seen_rx.try_recv().is_err(), "the handler ran once");
}

#[tokio::test]
async fn shutdown_flushes_pending_acks_and_errors_reconnect() {
    let mut fake = FakePushd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = DeviceClient::open(&fake.url, dir.path().join("device.db"))
        .await
        .unwrap();
    let info = client.subscribe(None).await.unwrap();
    let body = push_sdk::crypto::encrypt(
        &info.p256dh_bytes().unwrap(),
        &info.auth_bytes().unwrap(),
        b"bye",
    )
    .unwrap();

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stop_tx = std::sync::Mutex::new(Some(stop_tx));
    let listener = tokio::spawn(async move {
        // Shut down from inside the handler, before the ack delay elapses.
        let handler = move |_: Notification| {
            if let Some(stop) = stop_tx.lock().unwrap().take() {
                let _ = stop.send(());
            }
            async {}
        };
        let shutdown = async {
            let _ = stop_rx.await;
        };
        client.listen(handler, quick_options(), shutdown).await
    });
    let mut conn = fake.next_stream().await;
    assert!(matches!(conn.next_frame().await, ClientFrame::Hello(_)));
    // A broken stream is retried.
    conn.to_device
        .send(Err(tonic::Status::unavailable("boom")))
        .await
        .unwrap();
    let mut conn = fake.next_stream().await;
    assert!(matches!(conn.next_frame().await, ClientFrame::Hello(_)));
    conn.send(message("m9", "sub-1", body)).await;
    assert_eq!(acked_ids(&mut conn, 1).await, ["m9"]);
    assert_eq!(listener.await.unwrap().unwrap(), ListenEnd::Shutdown);
}

#[tokio::test]
async fn rejected_credential_stops_listening_and_unsubscribe_cleans_up() {
    let fake = FakePushd::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    let client = DeviceClient::open(&fake.url, &db).await.unwrap();
    client.subscribe(None).await.unwrap();
    client.unsubscribe("sub-1").await.unwrap();
    assert_eq!(fake.recorded.lock().unwrap().unsubscribed, ["sub-1"]);
    assert!(client.subscriptions().unwrap().is_empty());

    KeyStore::open(&db)
        .unwrap()
        .set_device(&DeviceRecord {
            server_url: fake.url.clone(),
            device_id: "device-1".into(),
            credential: "revoked".into(),
        })
        .unwrap();
    let client = DeviceClient::open_registered(&db).await.unwrap();
    let err = client
        .listen(|_| async {}, quick_options(), std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(tonic::Code::Unauthenticated), "{err}");
}
