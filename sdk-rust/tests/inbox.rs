//! The keystore's inbox: newest first, redeliveries kept once, bounded, kept across reopening.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
use push_sdk::store::{INBOX_CAPACITY, KeyStore};
use push_sdk::{Notification, Urgency};

fn message(index: usize) -> Notification {
    Notification {
        message_id: format!("m{index}"),
        subscription_id: "sub-a".into(),
        payload: format!("message {index}").into_bytes(),
        urgency: Urgency::High,
        topic: index.is_multiple_of(2).then(|| "even".to_owned()),
        received_at_unix_ms: 1_000 + index as i64,
    }
}

fn kept_ids(store: &KeyStore, limit: usize) -> Vec<String> {
    let entries = store.inbox(limit).unwrap();
    entries
        .into_iter()
        .map(|entry| entry.notification.message_id)
        .collect()
}

#[test]
fn lists_newest_first_with_everything_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    {
        let store = KeyStore::open(&path).unwrap();
        assert!(store.inbox(10).unwrap().is_empty());
        for index in 1..=3 {
            assert!(
                store
                    .keep_in_inbox(&message(index), 50_000 + index as i64)
                    .unwrap()
            );
        }
    }
    let store = KeyStore::open(&path).unwrap();
    assert_eq!(kept_ids(&store, 10), ["m3", "m2", "m1"]);
    assert_eq!(kept_ids(&store, 2), ["m3", "m2"]);
    let newest = &store.inbox(1).unwrap()[0];
    assert_eq!(newest.notification, message(3));
    assert_eq!(newest.kept_at_unix_ms, 50_003);
}

#[test]
fn a_redelivered_message_is_kept_once_in_its_first_place() {
    let store = KeyStore::open_in_memory().unwrap();
    store.keep_in_inbox(&message(1), 1).unwrap();
    store.keep_in_inbox(&message(2), 2).unwrap();
    assert!(!store.keep_in_inbox(&message(1), 3).unwrap());
    assert_eq!(kept_ids(&store, 10), ["m2", "m1"]);
}

#[test]
fn keeps_only_the_last_capacity_messages() {
    let store = KeyStore::open_in_memory().unwrap();
    let total = INBOX_CAPACITY + 25;
    for index in 1..=total {
        store.keep_in_inbox(&message(index), index as i64).unwrap();
    }
    let kept = kept_ids(&store, usize::MAX);
    assert_eq!(kept.len(), INBOX_CAPACITY);
    assert_eq!(
        kept.first().map(String::as_str),
        Some(format!("m{total}").as_str())
    );
    assert_eq!(kept.last().map(String::as_str), Some("m26"));
}
