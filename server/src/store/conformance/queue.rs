//! The message queue: order, paging, acks, expiry, topics and urgency.

use super::*;

pub async fn pending_is_oldest_first_and_pages(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let ids = enqueue_many(&store, &device_id, &subscription_id, 5).await;
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, ids);
    let first_page = pending_ids(
        &store,
        PendingQuery {
            limit: 2,
            ..all_pending(&device_id)
        },
    )
    .await;
    assert_eq!(first_page, ids[..2]);
    let next = PendingQuery {
        after: Some(ids[1].clone()),
        limit: 2,
        ..all_pending(&device_id)
    };
    assert_eq!(pending_ids(&store, next).await, ids[2..4]);
    let stored = store
        .pending(all_pending(&device_id))
        .await
        .expect("pending");
    assert_eq!(stored[0].payload, vec![0xAB; 100]);
    assert_eq!(stored[0].subscription_id, subscription_id);
}

pub async fn ack_removes_exactly_the_acked_messages(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let ids = enqueue_many(&store, &device_id, &subscription_id, 6).await;
    let acked = vec![ids[1].clone(), ids[4].clone()];
    assert_eq!(store.ack(&device_id, &acked).await.expect("ack"), 2);
    let left = vec![
        ids[0].clone(),
        ids[2].clone(),
        ids[3].clone(),
        ids[5].clone(),
    ];
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, left);
    assert_eq!(
        store.ack(&device_id, &acked).await.expect("ack again"),
        0,
        "acks are idempotent"
    );
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, left);
}

pub async fn ack_cannot_touch_another_devices_messages(store: Arc<dyn Store>) {
    let (alice, mallory) = (device(&store).await, device(&store).await);
    let subscription_id = subscription(&store, &alice).await;
    let ids = enqueue_many(&store, &alice, &subscription_id, 3).await;
    assert_eq!(store.ack(&mallory, &ids).await.expect("foreign ack"), 0);
    assert_eq!(pending_ids(&store, all_pending(&alice)).await, ids);
    assert!(pending_ids(&store, all_pending(&mallory)).await.is_empty());
}

pub async fn ack_before_write_makes_the_write_a_no_op(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let early = message(&device_id, &subscription_id, now_millis() + HOUR);
    assert_eq!(
        store
            .ack(&device_id, std::slice::from_ref(&early.id))
            .await
            .expect("early ack"),
        0
    );
    // A backend may or may not know the write was moot (`already_acked`);
    // either way the message must never become pending.
    store.enqueue(early, ROOMY).await.expect("late write");
    assert!(
        pending_ids(&store, all_pending(&device_id))
            .await
            .is_empty()
    );
    // Only the id that was acked is skipped.
    let normal = enqueue_many(&store, &device_id, &subscription_id, 1).await;
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, normal);
}

pub async fn expired_messages_are_never_pending_and_get_purged(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let now = now_millis();
    let short = message(&device_id, &subscription_id, now + 1_000);
    let long = message(&device_id, &subscription_id, now + HOUR);
    store.enqueue(short.clone(), ROOMY).await.expect("enqueue");
    store.enqueue(long.clone(), ROOMY).await.expect("enqueue");
    let later = PendingQuery {
        now: now + 1_000,
        ..all_pending(&device_id)
    };
    assert_eq!(
        pending_ids(&store, later.clone()).await,
        vec![long.id.clone()],
        "expiry is exclusive at expires_at"
    );
    // A sweep removes at most the expired message (a backend with native
    // TTLs may find nothing left to do), and never an unexpired one.
    assert!(store.purge_expired(now + 1_000).await.expect("purge") <= 1);
    assert_eq!(pending_ids(&store, later).await, vec![long.id.clone()]);
    assert_eq!(
        store.purge_expired(now + 1_000).await.expect("purge again"),
        0
    );
    assert!(
        pending_ids(&store, all_pending(&device_id))
            .await
            .contains(&long.id)
    );
}

pub async fn topic_replaces_only_on_the_same_subscription(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let (first_sub, second_sub) = (
        subscription(&store, &device_id).await,
        subscription(&store, &device_id).await,
    );
    let with_topic = |subscription_id: &str| QueuedMessage {
        topic: Some("score".into()),
        ..message(&device_id, subscription_id, now_millis() + HOUR)
    };
    let old = with_topic(&first_sub);
    assert_eq!(
        store
            .enqueue(old.clone(), ROOMY)
            .await
            .expect("enqueue")
            .replaced,
        None
    );
    let other_subscription = with_topic(&second_sub);
    assert_eq!(
        store
            .enqueue(other_subscription.clone(), ROOMY)
            .await
            .expect("enqueue")
            .replaced,
        None
    );
    let untopical = enqueue_many(&store, &device_id, &first_sub, 1).await;
    let new = with_topic(&first_sub);
    assert_eq!(
        store
            .enqueue(new.clone(), ROOMY)
            .await
            .expect("enqueue")
            .replaced,
        Some(old.id.clone())
    );
    let mut expected = vec![other_subscription.id, untopical[0].clone(), new.id];
    expected.sort();
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, expected);
}

pub async fn urgency_threshold_filters(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let mut ids = Vec::new();
    for urgency in [
        Urgency::VeryLow,
        Urgency::Low,
        Urgency::Normal,
        Urgency::High,
    ] {
        let queued = QueuedMessage {
            urgency,
            ..message(&device_id, &subscription_id, now_millis() + HOUR)
        };
        ids.push(queued.id.clone());
        store.enqueue(queued, ROOMY).await.expect("enqueue");
    }
    let normal_and_up = PendingQuery {
        min_urgency: Urgency::Normal,
        ..all_pending(&device_id)
    };
    assert_eq!(pending_ids(&store, normal_and_up).await, ids[2..]);
    let stored = store
        .pending(all_pending(&device_id))
        .await
        .expect("pending");
    assert_eq!(
        stored.iter().map(|m| m.urgency).collect::<Vec<_>>(),
        [
            Urgency::VeryLow,
            Urgency::Low,
            Urgency::Normal,
            Urgency::High
        ]
    );
}

pub async fn large_backlog_pages_completely(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let ids = enqueue_many(&store, &device_id, &subscription_id, 1_000).await;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = pending_ids(
            &store,
            PendingQuery {
                after: after.clone(),
                limit: 128,
                ..all_pending(&device_id)
            },
        )
        .await;
        let Some(last) = page.last().cloned() else {
            break;
        };
        seen.extend(page);
        after = Some(last);
    }
    assert_eq!(seen, ids);
}

pub async fn concurrent_enqueues_all_land(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (store, queued) = (
            store.clone(),
            message(&device_id, &subscription_id, now_millis() + HOUR),
        );
        tasks.spawn(async move {
            store
                .enqueue(queued.clone(), ROOMY)
                .await
                .map(|_| queued.id)
        });
    }
    let mut ids: Vec<String> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|result| result.expect("enqueue"))
        .collect();
    ids.sort();
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, ids);
}
