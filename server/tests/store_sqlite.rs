//! The store conformance suite against the embedded SQLite backend.

use std::sync::Arc;

use pushd::store::Store;
use pushd::store::sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store() -> Arc<dyn Store> {
    // Leaked on purpose: the folder must outlive the store, and each test process is short-lived.
    let folder = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
    let store = SqliteStore::open(
        &folder.path().join("store.sqlite3"),
        SqliteOptions::default(),
    )
    .expect("open store");
    Arc::new(store)
}

pushd::store_conformance_suite!(fresh_store());

/// SQLite-specific: a live write held for its ack is skipped when the ack comes in time.
#[tokio::test]
async fn a_prompt_ack_skips_the_held_live_write() {
    use pushd::domain::{DeviceRecord, QueuedMessage, SubscriptionRecord, Urgency, now_millis};
    use pushd::store::Admission;
    let store = fresh_store().await;
    let device = DeviceRecord {
        id: "d".into(),
        secret_hash: vec![0; 32],
        created_at: 0,
    };
    store.create_device(&device).await.expect("device");
    let subscription = SubscriptionRecord {
        id: "s".into(),
        device_id: "d".into(),
        app_server_key: None,
        created_at: 0,
        account_id: None,
    };
    store
        .create_subscription(&subscription)
        .await
        .expect("subscription");
    let message = QueuedMessage {
        id: pushd::domain::new_message_id(),
        device_id: "d".into(),
        subscription_id: "s".into(),
        topic: None,
        urgency: Urgency::Normal,
        payload: vec![1; 10],
        received_at: now_millis(),
        expires_at: now_millis() + 60_000,
    };
    let writer = store.clone();
    let held = tokio::spawn({
        let message = message.clone();
        async move { writer.enqueue(message, Admission::DeliveredLive).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        store
            .ack("d", std::slice::from_ref(&message.id))
            .await
            .expect("ack"),
        1
    );
    assert!(
        held.await.expect("join").expect("enqueue").already_acked,
        "the held write was skipped"
    );
}
