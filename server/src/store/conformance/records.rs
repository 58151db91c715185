//! Devices and subscriptions: created, read, listed, removed, and kept apart.

use super::*;

pub async fn devices_round_trip(store: Arc<dyn Store>) {
    let record = DeviceRecord {
        id: new_device_id(),
        secret_hash: vec![7; 32],
        created_at: 42,
    };
    store.create_device(&record).await.expect("create");
    assert_eq!(
        store.device(&record.id).await.expect("read"),
        Some(record.clone())
    );
    assert!(matches!(
        store.create_device(&record).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.device(&new_device_id()).await.expect("read unknown"),
        None
    );
}

pub async fn subscriptions_belong_to_their_device(store: Arc<dyn Store>) {
    let (alice, bob) = (device(&store).await, device(&store).await);
    let record = SubscriptionRecord {
        id: new_subscription_id(),
        device_id: alice.clone(),
        app_server_key: Some(vec![4; 65]),
        created_at: 5,
        account_id: None,
    };
    store.create_subscription(&record).await.expect("create");
    let second = subscription(&store, &alice).await;
    assert_eq!(
        store.subscription(&record.id).await.expect("read"),
        Some(record.clone())
    );
    let listed: Vec<String> = store
        .subscriptions_of(&alice)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&record.id) && listed.contains(&second));
    assert!(store.subscriptions_of(&bob).await.expect("list").is_empty());
    assert!(
        !store
            .delete_subscription(&bob, &record.id)
            .await
            .expect("foreign delete"),
        "bob must not delete alice's subscription"
    );
    assert!(
        store
            .delete_subscription(&alice, &record.id)
            .await
            .expect("delete")
    );
    assert_eq!(store.subscription(&record.id).await.expect("read"), None);
    assert!(
        !store
            .delete_subscription(&alice, &record.id)
            .await
            .expect("delete twice")
    );
}

pub async fn unsubscribe_drops_queued_messages(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let (gone, kept) = (
        subscription(&store, &device_id).await,
        subscription(&store, &device_id).await,
    );
    enqueue_many(&store, &device_id, &gone, 3).await;
    let kept_ids = enqueue_many(&store, &device_id, &kept, 2).await;
    assert!(
        store
            .delete_subscription(&device_id, &gone)
            .await
            .expect("delete")
    );
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, kept_ids);
    // The freed room is usable: a limit of 3 now admits one more beside the 2 kept.
    let limits = Admission::Queue(RetentionLimits {
        max_messages: 3,
        max_bytes: 1 << 20,
    });
    store
        .enqueue(message(&device_id, &kept, now_millis() + HOUR), limits)
        .await
        .expect("room after unsubscribe");
}

pub async fn an_open_store_answers_a_ping(store: Arc<dyn Store>) {
    store.ping().await.expect("ping an open store");
    // A ping leaves nothing behind that a read could see.
    let device_id = device(&store).await;
    store.ping().await.expect("ping again");
    assert!(
        store
            .subscriptions_of(&device_id)
            .await
            .expect("read")
            .is_empty()
    );
}
