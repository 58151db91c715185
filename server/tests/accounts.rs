//! One user, several devices, on the real pushd with the Rust SDK: an account
//! subscription reaches every approved device, its keys travel only sealed
//! between them, a pending device gets nothing it can open, a removed device
//! stops at once, and the server's files hold no plaintext and no private key.

mod support;

use std::path::Path;
use std::time::Duration;

use push_sdk::vapid::VapidKey;
use push_sdk::{DeviceClient, ListenEnd, SendOptions, Sender};
use support::Pushd;
use support::sdk::SdkListener;
use tonic::Code;

async fn device(pushd: &Pushd, folder: &Path, name: &str) -> DeviceClient {
    DeviceClient::open(&pushd.url, folder.join(format!("{name}.db")))
        .await
        .expect("open device")
}

/// The gRPC code a call failed with.
fn code<T>(result: Result<T, push_sdk::SdkError>) -> Option<Code> {
    result.err().and_then(|error| error.code())
}

async fn sender(pushd: &Pushd, vapid: &VapidKey) -> Sender {
    Sender::connect(&pushd.url, vapid.clone(), "mailto:ops@example.com")
        .await
        .expect("sender")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_approved_device_opens_one_message_and_nobody_else_can() {
    let pushd = Pushd::start(&[]);
    let folder = tempfile::tempdir().expect("temp dir");
    let (phone, laptop, tablet) = (
        device(&pushd, folder.path(), "phone").await,
        device(&pushd, folder.path(), "laptop").await,
        device(&pushd, folder.path(), "tablet").await,
    );
    let account_id = phone.create_account("Phone").await.expect("create");
    laptop
        .join_account(&account_id, "Laptop")
        .await
        .expect("join");
    tablet
        .join_account(&account_id, "Tablet")
        .await
        .expect("join");
    let waiting = laptop.sync_account_keys().await.expect("sync");
    assert!(!waiting.approved && waiting.added.is_empty());

    // The user compares fingerprints, then approves the laptop only.
    let listed = phone.account_devices().await.expect("list");
    let laptop_entry = listed
        .iter()
        .find(|member| member.device_id == laptop.device_id())
        .expect("laptop listed");
    assert!(!laptop_entry.approved);
    assert_eq!(
        laptop_entry.fingerprint,
        laptop.device_fingerprint().unwrap()
    );
    assert!(
        listed
            .iter()
            .any(|member| member.this_device && member.approved)
    );
    phone
        .approve_device(laptop.device_id())
        .await
        .expect("approve");

    let vapid = VapidKey::generate().expect("vapid");
    let info = phone
        .subscribe_for_account(Some("news"), Some(&vapid.public_key_raw()))
        .await
        .expect("account subscription");
    let synced = laptop.sync_account_keys().await.expect("sync");
    assert!(synced.approved);
    assert_eq!(synced.added.len(), 1);
    assert_eq!(
        laptop
            .store()
            .scope_of(&synced.added[0])
            .unwrap()
            .as_deref(),
        Some("news"),
        "the app's name for it travels with the keys"
    );
    let stranger = tablet.sync_account_keys().await.expect("sync");
    assert!(!stranger.approved && stranger.added.is_empty());

    let (mut on_phone, mut on_laptop, mut on_tablet) = (
        SdkListener::start(&phone),
        SdkListener::start(&laptop),
        SdkListener::start(&tablet),
    );
    let backend = sender(&pushd, &vapid).await;
    let receipt = backend
        .send(&info, b"dinner at eight", SendOptions::default())
        .await
        .expect("send once");
    assert_eq!((receipt.devices, receipt.devices_full), (2, 0));
    let (a, b) = (on_phone.next().await, on_laptop.next().await);
    assert_eq!(a.payload, b"dinner at eight");
    assert_eq!(b.payload, b"dinner at eight");
    assert_ne!(a.message_id, b.message_id, "each device acks its own copy");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(on_tablet.nothing_more(), "the pending tablet got nothing");
    assert!(tablet.fetch_pending().await.expect("fetch").is_empty());
    assert!(
        tablet.subscriptions().unwrap().is_empty(),
        "and holds no keys"
    );

    // Removing the laptop closes its stream and locks it out at once.
    phone
        .remove_device(laptop.device_id())
        .await
        .expect("remove");
    let ended = on_laptop.end().await.expect("listen ended");
    assert!(matches!(ended, ListenEnd::Revoked), "got {ended:?}");
    let receipt = backend
        .send(&info, b"after the laptop left", SendOptions::default())
        .await
        .expect("send");
    assert_eq!(receipt.devices, 1);
    assert_eq!(on_phone.next().await.payload, b"after the laptop left");
    let locked_out = laptop
        .fetch_pending()
        .await
        .expect_err("credential revoked");
    assert_eq!(locked_out.code(), Some(Code::Unauthenticated));

    // The last approved device leaving ends the account's subscriptions.
    on_phone.stop().await;
    on_tablet.stop().await;
    phone
        .remove_device(phone.device_id())
        .await
        .expect("remove itself");
    let gone = backend
        .send(&info, b"anyone?", SendOptions::default())
        .await
        .expect_err("nobody left");
    assert_eq!(gone.code(), Some(Code::NotFound));

    // What the server kept: no message text, no private key of any device or subscription.
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("plaintext 1".into(), b"dinner at eight".to_vec()),
        ("plaintext 2".into(), b"after the laptop left".to_vec()),
    ];
    for (name, client) in [("phone", &phone), ("laptop", &laptop), ("tablet", &tablet)] {
        let key = client.store().device_key().unwrap().keys;
        secrets.push((
            format!("{name} device private key"),
            key.private_key().to_vec(),
        ));
        for subscription in client.subscriptions().unwrap() {
            let keys = subscription.keys;
            secrets.push((
                format!("{name} subscription private key"),
                keys.private_key().to_vec(),
            ));
            secrets.push((
                format!("{name} subscription auth secret"),
                keys.auth_secret().to_vec(),
            ));
        }
    }
    assert!(
        secrets.len() >= 8,
        "the phone and laptop held the subscription keys"
    );
    let mut pushd = pushd;
    assert!(pushd.terminate().success());
    let mut scanned = 0;
    for entry in std::fs::read_dir(&pushd.data_dir).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read store file");
        scanned += bytes.len();
        for (what, secret) in &secrets {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_slice()),
                "{what} found in {}",
                path.display()
            );
        }
    }
    assert!(scanned > 0, "the store files were scanned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_approved_devices_act_on_an_account() {
    let pushd = Pushd::start(&["--max-account-devices", "2"]);
    let folder = tempfile::tempdir().expect("temp dir");
    let (owner, pending, outsider, extra) = (
        device(&pushd, folder.path(), "owner").await,
        device(&pushd, folder.path(), "pending").await,
        device(&pushd, folder.path(), "outsider").await,
        device(&pushd, folder.path(), "extra").await,
    );

    assert_eq!(
        code(
            pending
                .join_account("AAAAAAAAAAAAAAAAAAAAAA", "Pending")
                .await
        ),
        Some(Code::NotFound)
    );
    assert_eq!(
        code(pending.join_account("not an id", "Pending").await),
        Some(Code::InvalidArgument)
    );
    let account_id = owner.create_account("Owner").await.expect("create");
    assert_eq!(
        code(owner.create_account("Again").await),
        Some(Code::FailedPrecondition),
        "one account per device"
    );
    assert_eq!(
        code(pending.join_account(&account_id, "").await),
        Some(Code::InvalidArgument),
        "a name is required"
    );
    pending
        .join_account(&account_id, "Pending")
        .await
        .expect("join");
    assert_eq!(
        code(extra.join_account(&account_id, "Extra").await),
        Some(Code::ResourceExhausted),
        "--max-account-devices 2"
    );

    // A pending device can neither look around, approve itself nor subscribe for the account.
    assert_eq!(
        code(pending.account_devices().await),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(pending.approve_device(pending.device_id()).await),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(pending.subscribe_for_account(None, None).await),
        Some(Code::PermissionDenied)
    );
    assert_eq!(
        code(pending.remove_device(owner.device_id()).await),
        Some(Code::PermissionDenied)
    );

    // Another account's device cannot touch this one.
    outsider
        .create_account("Outsider")
        .await
        .expect("own account");
    assert_eq!(
        code(outsider.approve_device(pending.device_id()).await),
        Some(Code::NotFound)
    );
    assert_eq!(
        code(outsider.remove_device(owner.device_id()).await),
        Some(Code::NotFound)
    );
    let outsiders_view = outsider.account_devices().await.expect("list");
    assert_eq!(outsiders_view.len(), 1, "it sees only its own account");

    // The owner's account subscription is not the outsider's to remove.
    owner
        .subscribe_for_account(None, None)
        .await
        .expect("subscribe");
    let shared = owner.server_subscription_ids().await.expect("list");
    assert_eq!(shared.len(), 1);
    let refused = outsider.unsubscribe(&shared[0]).await;
    assert!(refused.is_ok(), "NOT_FOUND is treated as gone by the SDK");
    assert_eq!(owner.server_subscription_ids().await.expect("list"), shared);

    // A pending device withdraws itself.
    pending
        .remove_device(pending.device_id())
        .await
        .expect("withdraw");
    assert_eq!(owner.account_devices().await.expect("list").len(), 1);
}
