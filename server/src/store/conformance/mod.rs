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

mod accounts;
mod bridges;
mod limits;
mod queue;
mod receipts;
mod records;
mod registrations;
mod wake_ups;

pub use accounts::*;
pub use bridges::*;
pub use limits::*;
pub use queue::*;
pub use receipts::*;
pub use records::*;
pub use registrations::*;
pub use wake_ups::*;

pub(super) const HOUR: i64 = 3_600_000;
pub(super) const ROOMY: Admission = Admission::Queue(RetentionLimits {
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
            a_refused_replacement_keeps_the_old_message,
            expired_messages_do_not_count_toward_limits, unsubscribe_drops_queued_messages,
            large_backlog_pages_completely, concurrent_enqueues_all_land,
            live_delivered_messages_are_durable_and_skip_limits, an_ack_racing_a_live_write_leaves_nothing,
            bridges_are_set_replaced_and_removed, forgetting_a_token_spares_a_newer_one,
            messages_by_id_are_this_devices_unexpired_ones,
            account_members_join_pending_and_are_approved, a_device_joins_one_account_only,
            account_subscriptions_are_listed_apart, topics_replace_per_device_on_account_subscriptions,
            unsubscribing_an_account_subscription_clears_every_copy, sealed_keys_reach_only_their_recipient,
            removing_a_device_deletes_what_was_only_its, sender_blocks_are_per_owner,
            service_secrets_are_made_once, receipts_round_trip_and_start_their_log,
            receipts_move_forward_only, pending_lists_only_unfinished_receipts,
            each_key_sees_only_its_own_events, event_logs_resume_after_a_cursor,
            receipts_are_forgotten_after_keep_until, wake_ups_come_due_are_leased_and_finish,
            devices_are_listed_by_registration_time_across_hours, the_sweep_removes_only_devices_never_used,
            an_open_store_answers_a_ping);
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

pub(super) async fn device(store: &Arc<dyn Store>) -> String {
    let id = new_device_id();
    let record = DeviceRecord {
        id: id.clone(),
        secret_hash: vec![1; 32],
        created_at: now_millis(),
    };
    store.create_device(&record).await.expect("create device");
    id
}

pub(super) async fn subscription(store: &Arc<dyn Store>, device_id: &str) -> String {
    let id = new_subscription_id();
    let record = SubscriptionRecord {
        id: id.clone(),
        device_id: device_id.into(),
        app_server_key: None,
        created_at: now_millis(),
        account_id: None,
    };
    store
        .create_subscription(&record)
        .await
        .expect("create subscription");
    id
}

pub(super) fn message(device_id: &str, subscription_id: &str, expires_at: i64) -> QueuedMessage {
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

pub(super) fn all_pending(device_id: &str) -> PendingQuery {
    PendingQuery {
        device_id: device_id.into(),
        now: now_millis(),
        min_urgency: Urgency::VeryLow,
        after: None,
        limit: 10_000,
    }
}

pub(super) async fn pending_ids(store: &Arc<dyn Store>, query: PendingQuery) -> Vec<String> {
    store
        .pending(query)
        .await
        .expect("pending")
        .into_iter()
        .map(|message| message.id)
        .collect()
}

/// Enqueues `count` fresh messages and returns their ids in order.
pub(super) async fn enqueue_many(
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
