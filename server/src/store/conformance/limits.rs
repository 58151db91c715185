//! Retention maximums, and messages a live stream already took.

use super::*;

pub async fn retention_limits_refuse_and_recover(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let limits = Admission::Queue(RetentionLimits {
        max_messages: 3,
        max_bytes: 1 << 20,
    });
    let mut ids = Vec::new();
    for _ in 0..3 {
        let queued = message(&device_id, &subscription_id, now_millis() + HOUR);
        ids.push(queued.id.clone());
        store.enqueue(queued, limits).await.expect("within limits");
    }
    let refused = store
        .enqueue(
            message(&device_id, &subscription_id, now_millis() + HOUR),
            limits,
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::QueueFull {
                queued_messages: 3,
                max_messages: 3,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        pending_ids(&store, all_pending(&device_id)).await,
        ids,
        "a refused message is not stored"
    );
    store.ack(&device_id, &ids[..1]).await.expect("ack");
    store
        .enqueue(
            message(&device_id, &subscription_id, now_millis() + HOUR),
            limits,
        )
        .await
        .expect("room again after an ack");
    let bytes = Admission::Queue(RetentionLimits {
        max_messages: 100,
        max_bytes: 450,
    });
    let other = device(&store).await;
    let other_sub = subscription(&store, &other).await;
    for _ in 0..4 {
        store
            .enqueue(message(&other, &other_sub, now_millis() + HOUR), bytes)
            .await
            .expect("400 bytes fit");
    }
    let over = store
        .enqueue(message(&other, &other_sub, now_millis() + HOUR), bytes)
        .await;
    assert!(
        matches!(
            over,
            Err(StoreError::QueueFull {
                queued_bytes: 400,
                max_bytes: 450,
                ..
            })
        ),
        "{over:?}"
    );
}

pub async fn expired_messages_do_not_count_toward_limits(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let limits = Admission::Queue(RetentionLimits {
        max_messages: 2,
        max_bytes: 1 << 20,
    });
    for _ in 0..2 {
        store
            .enqueue(
                message(&device_id, &subscription_id, now_millis() + 50),
                limits,
            )
            .await
            .expect("enqueue");
    }
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    store
        .enqueue(
            message(&device_id, &subscription_id, now_millis() + HOUR),
            limits,
        )
        .await
        .expect("expired ones freed room");
}

pub async fn live_delivered_messages_are_durable_and_skip_limits(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let one = Admission::Queue(RetentionLimits {
        max_messages: 1,
        max_bytes: 1 << 20,
    });
    let queued = message(&device_id, &subscription_id, now_millis() + HOUR);
    store.enqueue(queued.clone(), one).await.expect("fits");
    let live = message(&device_id, &subscription_id, now_millis() + HOUR);
    let enqueued = store
        .enqueue(live.clone(), Admission::DeliveredLive)
        .await
        .expect("live messages skip the maximum");
    assert!(!enqueued.already_acked);
    // Never acked: it must be stored, like any accepted message.
    assert_eq!(
        pending_ids(&store, all_pending(&device_id)).await,
        vec![queued.id, live.id]
    );
}

pub async fn an_ack_racing_a_live_write_leaves_nothing(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let mut ids = Vec::new();
    let mut writes = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let live = message(&device_id, &subscription_id, now_millis() + HOUR);
        ids.push(live.id.clone());
        let store = store.clone();
        writes.spawn(async move { store.enqueue(live, Admission::DeliveredLive).await });
    }
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store.ack(&device_id, &ids).await.expect("ack");
    for written in writes.join_all().await {
        written.expect("every write answers");
    }
    // Whichever came first, an acked message is gone for good.
    assert!(
        pending_ids(&store, all_pending(&device_id))
            .await
            .is_empty()
    );
}

/// A topic message refused at the maximum must not take the message it
/// would have replaced with it: the old one was accepted and stays queued.
pub async fn a_refused_replacement_keeps_the_old_message(store: Arc<dyn Store>) {
    let device_id = device(&store).await;
    let subscription_id = subscription(&store, &device_id).await;
    let limits = Admission::Queue(RetentionLimits {
        max_messages: 100,
        max_bytes: 450,
    });
    let with_topic = |payload_bytes: usize| QueuedMessage {
        topic: Some("score".into()),
        payload: vec![0xCD; payload_bytes],
        ..message(&device_id, &subscription_id, now_millis() + HOUR)
    };
    let mut kept = enqueue_many(&store, &device_id, &subscription_id, 3).await;
    let old = with_topic(100);
    kept.push(old.id.clone());
    store
        .enqueue(old.clone(), limits)
        .await
        .expect("400 bytes fit");
    // 300 bytes stay if the old one goes; 300 + 200 is still over 450.
    let refused = store.enqueue(with_topic(200), limits).await;
    assert!(
        matches!(refused, Err(StoreError::QueueFull { .. })),
        "{refused:?}"
    );
    assert_eq!(
        pending_ids(&store, all_pending(&device_id)).await,
        kept,
        "the refused replacement left the queue as it was"
    );
    // A replacement that fits once the old one goes is still accepted at the limit.
    let fits = with_topic(150);
    let replaced = store.enqueue(fits.clone(), limits).await.expect("fits");
    assert_eq!(replaced.replaced, Some(old.id));
    kept.pop();
    kept.push(fits.id);
    assert_eq!(pending_ids(&store, all_pending(&device_id)).await, kept);
}
