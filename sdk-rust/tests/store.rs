//! KeyStore: schema lifecycle, persistence of keys and device, seen-id dedup and pruning.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
use push_sdk::crypto;
use push_sdk::store::{DeviceRecord, KeyStore, SEEN_RETENTION_MS, StoreError, StoredSubscription};

fn subscription(id: &str, created_at_unix_ms: i64) -> StoredSubscription {
    StoredSubscription {
        id: id.into(),
        endpoint: format!("http://127.0.0.1:8070/p/{id}"),
        app_server_key: Some(vec![4; 65]),
        keys: crypto::generate_subscription_keys().unwrap(),
        created_at_unix_ms,
        for_account: false,
    }
}

#[test]
fn creates_and_reopens_with_everything_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let device = DeviceRecord {
        server_url: "http://127.0.0.1:8070".into(),
        device_id: "dev-1".into(),
        credential: "secret-credential".into(),
    };
    let (first, second) = (subscription("sub-a", 1), subscription("sub-b", 2));
    {
        let store = KeyStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 4);
        assert_eq!(store.device().unwrap(), None);
        store.set_device(&device).unwrap();
        store.insert_subscription(&second).unwrap();
        store.insert_subscription(&first).unwrap();
        store.mark_seen("m1", 1_000).unwrap();
    }
    let store = KeyStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    assert_eq!(store.device().unwrap(), Some(device.clone()));
    assert!(!format!("{device:?}").contains("secret-credential"));
    assert_eq!(
        store.subscriptions().unwrap(),
        vec![first.clone(), second.clone()]
    );
    let loaded = store.subscription("sub-a").unwrap().unwrap();
    assert_eq!(loaded.keys, first.keys);
    // The persisted keys still open a message encrypted for them.
    let body = crypto::encrypt(first.keys.public_key(), first.keys.auth_secret(), b"kept").unwrap();
    assert_eq!(crypto::decrypt(&loaded.keys, &body).unwrap(), b"kept");
    assert!(store.is_seen("m1").unwrap());
    assert!(store.remove_subscription("sub-a").unwrap());
    assert!(!store.remove_subscription("sub-a").unwrap());
    assert_eq!(store.subscription("sub-a").unwrap(), None);
}

#[cfg(unix)]
#[test]
fn file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    KeyStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn refuses_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    drop(KeyStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        KeyStore::open(&path),
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
}

#[test]
fn seen_ids_dedup_and_prune() {
    let store = KeyStore::open_in_memory().unwrap();
    let now = 10 * SEEN_RETENTION_MS;
    assert!(!store.is_seen("m1").unwrap());
    assert!(store.mark_seen("m1", now - SEEN_RETENTION_MS - 1).unwrap());
    assert!(
        !store.mark_seen("m1", now).unwrap(),
        "second mark is a duplicate"
    );
    assert!(store.mark_seen("m2", now - 1000).unwrap());
    assert!(store.is_seen("m1").unwrap());
    assert_eq!(store.prune_seen(now).unwrap(), 1);
    assert!(!store.is_seen("m1").unwrap());
    assert!(store.is_seen("m2").unwrap());
}

#[test]
fn corrupt_keys_are_reported_with_the_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    KeyStore::open(&path)
        .unwrap()
        .insert_subscription(&subscription("sub-x", 1))
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE subscriptions SET keys = x'00'", [])
        .unwrap();
    drop(conn);
    let err = KeyStore::open(&path)
        .unwrap()
        .subscription("sub-x")
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptKeys { subscription_id, .. } if subscription_id == "sub-x")
    );
}

/// A keystore written by the first SDK release (schema 1) opens with every
/// key intact, gains scopes, and is version 2 from then on.
#[test]
fn a_version_1_keystore_migrates_with_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = subscription("sub-old", 7);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE device (singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                 server_url TEXT NOT NULL, device_id TEXT NOT NULL, credential TEXT NOT NULL);
             CREATE TABLE subscriptions (id TEXT PRIMARY KEY, endpoint TEXT NOT NULL,
                 app_server_key BLOB, keys BLOB NOT NULL, created_at_unix_ms INTEGER NOT NULL);
             CREATE TABLE seen_messages (message_id TEXT PRIMARY KEY, seen_at_unix_ms INTEGER NOT NULL);
             CREATE INDEX seen_messages_by_age ON seen_messages (seen_at_unix_ms);
             INSERT INTO device VALUES (1, 'http://127.0.0.1:8070', 'dev-old', 'cred');
             INSERT INTO seen_messages VALUES ('m-old', 5);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO subscriptions VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                old.id,
                old.endpoint,
                old.app_server_key,
                old.keys.to_bytes(),
                old.created_at_unix_ms
            ],
        )
        .unwrap();
    }
    let store = KeyStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    assert_eq!(store.device().unwrap().unwrap().device_id, "dev-old");
    assert_eq!(store.subscriptions().unwrap(), vec![old.clone()]);
    assert!(store.is_seen("m-old").unwrap());
    assert_eq!(store.scope_of("sub-old").unwrap(), None);
    let device_key = store.device_key().unwrap();
    assert_eq!(
        device_key.account_id, None,
        "a migrated device has no account yet"
    );
    store.set_scope("https://news.example", "sub-old").unwrap();
    assert_eq!(
        store
            .subscription_for_scope("https://news.example")
            .unwrap(),
        Some(old)
    );
    assert!(store.remove_subscription("sub-old").unwrap());
    assert_eq!(
        store
            .subscription_for_scope("https://news.example")
            .unwrap(),
        None
    );
}

#[test]
fn the_device_key_is_made_once_and_kept_with_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let first = {
        let store = KeyStore::open(&path).unwrap();
        let first = store.device_key().unwrap();
        assert_eq!(store.device_key().unwrap(), first, "not regenerated");
        store.set_account("account-1").unwrap();
        first
    };
    let store = KeyStore::open(&path).unwrap();
    let reopened = store.device_key().unwrap();
    assert_eq!(reopened.keys, first.keys);
    assert_eq!(reopened.account_id.as_deref(), Some("account-1"));
    let other = KeyStore::open_in_memory().unwrap().device_key().unwrap();
    assert_ne!(other.keys, first.keys, "each device has its own");
}
