//! Delivery receipts: filing, moving forward only, the pending list and each
//! sender key's event log.
//!
//! A backend may share its data between cases (the CQL suite uses one
//! keyspace), so every case makes its own key hashes and message ids and
//! looks only at those; what it keeps lasts minutes, not hours.

use std::collections::HashSet;
use std::time::Duration;

use super::*;
use crate::domain::{Receipt, ReceiptCopy, ReceiptEvent, ReceiptState, receipt_key_hash};

/// How long the cases keep what they file.
const KEEP: i64 = 10 * 60_000;

fn key_hash() -> Vec<u8> {
    receipt_key_hash(new_message_id().as_bytes())
}

/// A receipt for two copies of a fresh message; its id sorts after every
/// earlier one's.
fn new_receipt(key_hash: &[u8], state: ReceiptState, updated_at: i64) -> Receipt {
    let message_id = new_message_id();
    Receipt {
        message_id: message_id.clone(),
        key_hash: key_hash.to_vec(),
        subscription_id: new_subscription_id(),
        copies: vec![
            ReceiptCopy {
                device_id: new_device_id(),
                message_id,
            },
            ReceiptCopy {
                device_id: new_device_id(),
                message_id: new_message_id(),
            },
        ],
        state,
        updated_at,
        expires_at: updated_at + HOUR,
    }
}

async fn put(store: &Arc<dyn Store>, receipt: &Receipt, keep_until: i64) -> ReceiptEvent {
    let event = store
        .put_receipt(receipt, keep_until)
        .await
        .expect("put receipt");
    assert_eq!(
        (event.message_id.as_str(), event.state, event.at),
        (
            receipt.message_id.as_str(),
            receipt.state,
            receipt.updated_at
        ),
        "the first event is the receipt's state"
    );
    event
}

async fn advance(
    store: &Arc<dyn Store>,
    message_id: &str,
    state: ReceiptState,
    at: i64,
) -> Option<ReceiptEvent> {
    store
        .advance_receipt(message_id, state, at, at + KEEP)
        .await
        .expect("advance receipt")
}

async fn events(store: &Arc<dyn Store>, key_hash: &[u8], after: Option<&str>) -> Vec<ReceiptEvent> {
    store
        .receipt_events(key_hash, after, 1_000)
        .await
        .expect("receipt events")
}

/// The pending receipts among `ours`, in the order the store listed them.
async fn pending_among(store: &Arc<dyn Store>, ours: &[&Receipt]) -> Vec<Receipt> {
    let ids: HashSet<&str> = ours.iter().map(|r| r.message_id.as_str()).collect();
    store
        .pending_receipts(100_000)
        .await
        .expect("pending receipts")
        .into_iter()
        .filter(|receipt| ids.contains(receipt.message_id.as_str()))
        .collect()
}

fn assert_cursors_ascend(log: &[ReceiptEvent]) {
    for pair in log.windows(2) {
        assert!(pair[0].cursor < pair[1].cursor, "cursor order: {log:?}");
    }
}

pub async fn receipts_round_trip_and_start_their_log(store: Arc<dyn Store>) {
    let now = now_millis();
    let key = key_hash();
    assert_eq!(store.receipt(&new_message_id()).await.expect("read"), None);
    assert_eq!(events(&store, &key, None).await, []);

    let receipt = new_receipt(&key, ReceiptState::Accepted, now);
    let first = put(&store, &receipt, now + KEEP).await;
    assert!(!first.cursor.is_empty());
    assert_eq!(
        store.receipt(&receipt.message_id).await.expect("read"),
        Some(receipt.clone())
    );
    assert_eq!(
        events(&store, &key, None).await,
        std::slice::from_ref(&first)
    );

    // A receipt filed final (e.g. the message was acked at once) logs that too.
    let done = new_receipt(&key, ReceiptState::Acked, now + 5);
    let second = put(&store, &done, now + KEEP).await;
    assert_eq!(
        store.receipt(&done.message_id).await.expect("read"),
        Some(done)
    );
    assert!(first.cursor < second.cursor, "a later event sorts later");
    assert_eq!(events(&store, &key, None).await, [first, second]);
}

pub async fn receipts_move_forward_only(store: Arc<dyn Store>) {
    use ReceiptState::*;
    let now = now_millis();
    let key = key_hash();
    let receipt = new_receipt(&key, Accepted, now);
    let accepted = put(&store, &receipt, now + KEEP).await;

    let delivered = advance(&store, &receipt.message_id, Delivered, now + 10)
        .await
        .expect("accepted -> delivered");
    assert_eq!(
        (delivered.message_id.as_str(), delivered.state, delivered.at),
        (receipt.message_id.as_str(), Delivered, now + 10)
    );
    let mut expected = Receipt {
        state: Delivered,
        updated_at: now + 10,
        ..receipt.clone()
    };
    assert_eq!(
        store.receipt(&receipt.message_id).await.expect("read"),
        Some(expected.clone())
    );
    assert_eq!(
        advance(&store, &receipt.message_id, Delivered, now + 11).await,
        None
    );
    assert_eq!(
        advance(&store, &receipt.message_id, Accepted, now + 12).await,
        None
    );

    let acked = advance(&store, &receipt.message_id, Acked, now + 20)
        .await
        .expect("delivered -> acked");
    assert_eq!((acked.state, acked.at), (Acked, now + 20));
    // Nothing moves a final receipt, not even to a "later" final state.
    assert_eq!(
        advance(&store, &receipt.message_id, Expired, now + 30).await,
        None
    );
    assert_eq!(
        advance(&store, &receipt.message_id, Dropped, now + 40).await,
        None
    );
    expected.state = Acked;
    expected.updated_at = now + 20;
    assert_eq!(
        store.receipt(&receipt.message_id).await.expect("read"),
        Some(expected)
    );

    let log = events(&store, &key, None).await;
    assert_eq!(
        log,
        [accepted, delivered, acked],
        "refused moves log nothing"
    );
    assert_cursors_ascend(&log);

    let unknown = new_message_id();
    assert_eq!(advance(&store, &unknown, Delivered, now).await, None);
    assert_eq!(
        store.receipt(&unknown).await.expect("read"),
        None,
        "advancing does not create"
    );
}

pub async fn pending_lists_only_unfinished_receipts(store: Arc<dyn Store>) {
    use ReceiptState::*;
    let now = now_millis();
    let key = key_hash();
    // Made oldest first (ids and times both), filed newest first.
    let older = new_receipt(&key, Accepted, now);
    let newer = new_receipt(&key, Delivered, now + 1);
    let finished = new_receipt(&key, Acked, now + 2);
    for receipt in [&finished, &newer, &older] {
        put(&store, receipt, now + KEEP).await;
    }
    let ours = [&older, &newer, &finished];
    assert_eq!(
        pending_among(&store, &ours).await,
        [older.clone(), newer.clone()],
        "the unfinished ones, oldest first"
    );
    let one = store.pending_receipts(1).await.expect("pending receipts");
    assert_eq!(one.len(), 1, "limit");
    assert!(!one[0].state.is_final());

    // A move that is not final keeps it listed, as it now is.
    advance(&store, &older.message_id, Delivered, now + 3)
        .await
        .expect("accepted -> delivered");
    advance(&store, &newer.message_id, Cancelled, now + 4)
        .await
        .expect("delivered -> cancelled");
    let moved = Receipt {
        state: Delivered,
        updated_at: now + 3,
        ..older.clone()
    };
    assert_eq!(pending_among(&store, &ours).await, [moved]);

    advance(&store, &older.message_id, Expired, now + 5)
        .await
        .expect("delivered -> expired");
    assert_eq!(pending_among(&store, &ours).await, []);
}

pub async fn each_key_sees_only_its_own_events(store: Arc<dyn Store>) {
    use ReceiptState::*;
    let now = now_millis();
    let (first_key, second_key) = (key_hash(), key_hash());
    let one = new_receipt(&first_key, Accepted, now);
    let two = new_receipt(&second_key, Accepted, now + 1);
    let three = new_receipt(&first_key, Accepted, now + 2);

    let mut first_log = vec![put(&store, &one, now + KEEP).await];
    let mut second_log = vec![put(&store, &two, now + KEEP).await];
    first_log.push(
        advance(&store, &one.message_id, Delivered, now + 3)
            .await
            .expect("move"),
    );
    second_log.push(
        advance(&store, &two.message_id, Delivered, now + 4)
            .await
            .expect("move"),
    );
    first_log.push(put(&store, &three, now + KEEP).await);
    second_log.push(
        advance(&store, &two.message_id, Acked, now + 5)
            .await
            .expect("move"),
    );
    first_log.push(
        advance(&store, &one.message_id, Acked, now + 6)
            .await
            .expect("move"),
    );

    let first = events(&store, &first_key, None).await;
    let second = events(&store, &second_key, None).await;
    assert_eq!(first, first_log);
    assert_eq!(second, second_log);
    assert_cursors_ascend(&first);
    assert_cursors_ascend(&second);
    // Resuming from the other key's cursor still shows only this key's.
    let from_other = events(&store, &first_key, Some(&second_log[0].cursor)).await;
    assert_eq!(from_other, first_log[1..]);
    assert_eq!(events(&store, &key_hash(), None).await, []);
}

pub async fn event_logs_resume_after_a_cursor(store: Arc<dyn Store>) {
    use ReceiptState::*;
    let now = now_millis();
    let key = key_hash();
    let mut log = Vec::new();
    for offset in 0..3 {
        let receipt = new_receipt(&key, Accepted, now + offset);
        log.push(put(&store, &receipt, now + KEEP).await);
        if offset != 1 {
            let moved = advance(&store, &receipt.message_id, Delivered, now + 10 + offset).await;
            log.push(moved.expect("accepted -> delivered"));
        }
    }
    assert_eq!(log.len(), 5);
    assert_eq!(events(&store, &key, None).await, log);

    assert_eq!(events(&store, &key, Some(&log[1].cursor)).await, log[2..]);
    let page = store
        .receipt_events(&key, Some(&log[1].cursor), 2)
        .await
        .expect("page");
    assert_eq!(page, log[2..4], "limit");
    let head = store.receipt_events(&key, None, 2).await.expect("head");
    assert_eq!(head, log[..2]);
    // Paging with the last cursor seen walks the whole log exactly once.
    let mut walked: Vec<ReceiptEvent> = Vec::new();
    loop {
        let after = walked.last().map(|event| event.cursor.clone());
        let page = store
            .receipt_events(&key, after.as_deref(), 2)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        walked.extend(page);
    }
    assert_eq!(walked, log);
    assert_eq!(events(&store, &key, Some(&log[4].cursor)).await, []);
}

pub async fn receipts_are_forgotten_after_keep_until(store: Arc<dyn Store>) {
    let now = now_millis();
    let key = key_hash();
    let brief = new_receipt(&key, ReceiptState::Accepted, now);
    let kept = new_receipt(&key, ReceiptState::Accepted, now + 1);
    // Short enough for a store that expires rows itself (whole seconds) to
    // drop it within the wait below.
    put(&store, &brief, now + 1_500).await;
    let kept_event = put(&store, &kept, now + KEEP).await;

    store.purge_receipts(now).await.expect("purge");
    assert!(
        store
            .receipt(&brief.message_id)
            .await
            .expect("read")
            .is_some(),
        "kept until its keep-until"
    );

    let purged = store.purge_receipts(now + 2_000).await.expect("purge");
    let forgotten = || async {
        store
            .receipt(&brief.message_id)
            .await
            .expect("read")
            .is_none()
            && events(&store, &key, None).await == [kept_event.clone()]
            && pending_among(&store, &[&brief, &kept]).await == [kept.clone()]
    };
    if purged == 0 {
        // The store forgets by itself (e.g. a TTL): wait for it, briefly.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
        while !forgotten().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the receipt, its event or its pending entry outlived its keep-until"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(store.receipt(&brief.message_id).await.expect("read"), None);
    assert_eq!(
        events(&store, &key, None).await,
        std::slice::from_ref(&kept_event),
        "its event too"
    );
    assert_eq!(
        pending_among(&store, &[&brief, &kept]).await,
        std::slice::from_ref(&kept)
    );
    assert_eq!(
        store.receipt(&kept.message_id).await.expect("read"),
        Some(kept)
    );
    assert_eq!(
        advance(
            &store,
            &brief.message_id,
            ReceiptState::Delivered,
            now + 3_000
        )
        .await,
        None,
        "a forgotten receipt does not move"
    );
}
