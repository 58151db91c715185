//! The behaviour every [`Store`] backend must show, as one suite.
//!
//! A backend's test file invokes [`store_conformance_suite!`] with an async
//! expression that builds a fresh, empty store; every case then runs against
//! it. Cases take "now" explicitly where expiry matters, so nothing sleeps.

use std::sync::Arc;

use super::{Admission, PendingQuery, RetentionLimits, Store, StoreError};
use crate::domain::{
    DeviceRecord, QueuedMessage, SubscriptionRecord, Urgency, new_device_id, new_message_id,
    new_subscription_id, now_millis,
};

const HOUR: i64 = 3_600_000;
const ROOMY: Admission = Admission::Queue(RetentionLimits {
    max_messages: 100_000,
    max_bytes: 1 << 30,
});

/// Generates one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! store_conformance_suite {
    ($make_store:expr) => {
        $crate::store_conformance_suite!(@cases $make_store;
            devices_round_trip, subscriptions_belong_to_their_device, pending_is_oldest_first_and_pages,
            ack_removes_exactly_the_acked_messages, ack_cannot_touch_another_devices_messages,
            ack_before_write_makes_the_write_a_no_op, expired_messages_are_never_pending_and_get_purged,
            topic_replaces_only_on_the_same_subscription, urgency_threshold_filters, retention_limits_refuse_and_recover,
            expired_messages_do_not_count_toward_limits, unsubscribe_drops_queued_messages,
            large_backlog_pages_completely, concurrent_enqueues_all_land,
            live_delivered_messages_are_durable_and_skip_limits, an_ack_racing_a_live_write_leaves_nothing);
    };
    (@cases $make_store:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: std::sync::Arc<dyn $crate::store::Store> = $make_store.await;
                $crate::store::conformance::$case(store).await;
            }
        )+
    };
}

async fn device(store: &Arc<dyn Store>) -> String {
    let id = new_device_id();
    let record = DeviceRecord {
        id: id.clone(),
        secret_hash: vec![1; 32],
        created_at: now_millis(),
    };
    store.create_device(&record).await.expect("create device");
    id
}

async fn subscription(store: &Arc<dyn Store>, device_id: &str) -> String {
    let id = new_subscription_id();
    let record = SubscriptionRecord {
        id: id.clone(),
        device_id: device_id.into(),
        app_server_key: None,
        created_at: now_millis(),
    };
    store
        .create_subscription(&record)
        .await
        .expect("create subscription");
    id
}

fn message(device_id: &str, subscription_id: &str, expires_at: i64) -> QueuedMessage {
    QueuedMessage {
        id: new_message_id(),
        device_id: device_id.into(),
        subscription_id: subscription_id.into(),
        topic: None,
        urgency: Urgency::Normal,
        payload: vec![0xAB; 100],
        received_at: now_millis(),
        expires_at,
    }
}

fn all_pending(device_id: &str) -> PendingQuery {
    PendingQuery {
        device_id: device_id.into(),
        now: now_millis(),
        min_urgency: Urgency::VeryLow,
        after: None,
        limit: 10_000,
    }
}

async fn pending_ids(store: &Arc<dyn Store>, query: PendingQuery) -> Vec<String> {
    store
        .pending(query)
        .await
        .expect("pending")
        .into_iter()
        .map(|message| message.id)
        .collect()
}

/// Enqueues `count` fresh messages and returns their ids in order.
async fn enqueue_many(
    store: &Arc<dyn Store>,
    device_id: &str,
    subscription_id: &str,
    count: usize,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let queued = message(device_id, subscription_id, now_millis() + HOUR);
        ids.push(queued.id.clone());
        store.enqueue(queued, ROOMY).await.expect("enqueue");
    }
    ids
}

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
    let enqueued = store.enqueue(early, ROOMY).await.expect("late write");
    assert!(enqueued.already_acked);
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
    assert_eq!(store.purge_expired(now + 1_000).await.expect("purge"), 1);
    assert_eq!(
        pending_ids(&store, all_pending(&device_id)).await,
        vec![long.id.clone()]
    );
    assert_eq!(
        store.purge_expired(now + 1_000).await.expect("purge again"),
        0
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
