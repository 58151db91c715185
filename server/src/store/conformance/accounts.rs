//! Accounts, account subscriptions and sealed key bundles.

use super::*;
use crate::domain::{AccountDevice, SealedKeys, new_account_id};

fn member(account_id: &str, device_id: &str, approved: bool, added_at: i64) -> AccountDevice {
    AccountDevice {
        account_id: account_id.into(),
        device_id: device_id.into(),
        name: format!("device {added_at}"),
        public_key: vec![4; 65],
        auth_secret: vec![7; 16],
        approved,
        added_at,
    }
}

/// An account with one approved device; returns (account, device).
async fn account(store: &Arc<dyn Store>) -> (String, String) {
    let account_id = new_account_id();
    let device_id = device(store).await;
    store
        .add_account_device(&member(&account_id, &device_id, true, 1))
        .await
        .expect("add first member");
    (account_id, device_id)
}

/// A second device, already approved, in `account_id`.
async fn approved_member(store: &Arc<dyn Store>, account_id: &str) -> String {
    let device_id = device(store).await;
    store
        .add_account_device(&member(account_id, &device_id, true, 2))
        .await
        .expect("join");
    device_id
}

async fn no_sealed_keys(store: &Arc<dyn Store>, device_id: &str) -> bool {
    store
        .sealed_keys_for(device_id)
        .await
        .expect("sealed")
        .is_empty()
}

async fn account_subscription(store: &Arc<dyn Store>, account_id: &str, creator: &str) -> String {
    let id = new_subscription_id();
    let record = SubscriptionRecord {
        id: id.clone(),
        device_id: creator.into(),
        app_server_key: None,
        created_at: now_millis(),
        account_id: Some(account_id.into()),
    };
    store.create_subscription(&record).await.expect("create");
    id
}

fn sealed(recipient: &str, subscription_id: &str, sender: &str, byte: u8) -> SealedKeys {
    SealedKeys {
        recipient_device_id: recipient.into(),
        subscription_id: subscription_id.into(),
        sender_device_id: sender.into(),
        sealed: vec![byte; 200],
        created_at: now_millis(),
    }
}

pub async fn account_members_join_pending_and_are_approved(store: Arc<dyn Store>) {
    let (account_id, first) = account(&store).await;
    let second = device(&store).await;
    let joining = member(&account_id, &second, false, 2);
    store.add_account_device(&joining).await.expect("join");
    assert_eq!(
        store.account_of(&second).await.expect("read"),
        Some(joining.clone())
    );
    let members = store.account_devices(&account_id).await.expect("list");
    assert_eq!(
        members
            .iter()
            .map(|m| (m.device_id.as_str(), m.approved))
            .collect::<Vec<_>>(),
        vec![(first.as_str(), true), (second.as_str(), false)],
        "oldest first, the joiner pending"
    );
    assert!(
        store
            .approve_account_device(&account_id, &second)
            .await
            .expect("approve"),
    );
    assert!(
        store
            .account_of(&second)
            .await
            .expect("read")
            .expect("member")
            .approved
    );
    assert!(
        !store
            .approve_account_device(&new_account_id(), &second)
            .await
            .expect("approve in another account"),
        "approval names the account"
    );
    assert!(
        !store
            .approve_account_device(&account_id, &new_device_id())
            .await
            .expect("approve a stranger"),
    );
    assert_eq!(
        store.account_of(&device(&store).await).await.expect("read"),
        None
    );
}

pub async fn a_device_joins_one_account_only(store: Arc<dyn Store>) {
    let (_, first) = account(&store).await;
    let other = new_account_id();
    let refused = store
        .add_account_device(&member(&other, &first, true, 5))
        .await;
    assert!(
        matches!(refused, Err(StoreError::AlreadyExists(_))),
        "got {refused:?}"
    );
    assert!(
        store
            .account_devices(&other)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn account_subscriptions_are_listed_apart(store: Arc<dyn Store>) {
    let (account_id, creator) = account(&store).await;
    let own = subscription(&store, &creator).await;
    let shared = account_subscription(&store, &account_id, &creator).await;
    let listed = |records: Vec<SubscriptionRecord>| {
        records
            .into_iter()
            .map(|record| record.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(store.subscriptions_of(&creator).await.expect("own")),
        vec![own]
    );
    assert_eq!(
        listed(
            store
                .account_subscriptions(&account_id)
                .await
                .expect("account")
        ),
        vec![shared.clone()]
    );
    let record = store
        .subscription(&shared)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(record.account_id.as_deref(), Some(account_id.as_str()));
    assert_eq!(record.device_id, creator);
}

pub async fn topics_replace_per_device_on_account_subscriptions(store: Arc<dyn Store>) {
    let (account_id, first) = account(&store).await;
    let second = approved_member(&store, &account_id).await;
    let shared = account_subscription(&store, &account_id, &first).await;
    let copy = |device_id: &str| QueuedMessage {
        topic: Some("score".into()),
        ..message(device_id, &shared, now_millis() + HOUR)
    };
    let (a1, b1) = (copy(&first), copy(&second));
    store.enqueue(a1.clone(), ROOMY).await.expect("a1");
    store.enqueue(b1.clone(), ROOMY).await.expect("b1");
    assert_eq!(
        pending_ids(&store, all_pending(&first)).await,
        vec![a1.id.clone()]
    );
    assert_eq!(
        pending_ids(&store, all_pending(&second)).await,
        vec![b1.id.clone()],
        "one device's copy does not replace another's"
    );
    let a2 = copy(&first);
    let replaced = store.enqueue(a2.clone(), ROOMY).await.expect("a2");
    assert_eq!(replaced.replaced, Some(a1.id));
    assert_eq!(pending_ids(&store, all_pending(&first)).await, vec![a2.id]);
    assert_eq!(pending_ids(&store, all_pending(&second)).await, vec![b1.id]);
}

pub async fn unsubscribing_an_account_subscription_clears_every_copy(store: Arc<dyn Store>) {
    let (account_id, first) = account(&store).await;
    let second = approved_member(&store, &account_id).await;
    let shared = account_subscription(&store, &account_id, &first).await;
    let own = subscription(&store, &second).await;
    enqueue_many(&store, &first, &shared, 2).await;
    enqueue_many(&store, &second, &shared, 2).await;
    let kept = enqueue_many(&store, &second, &own, 1).await;
    store
        .put_sealed_keys(&[sealed(&second, &shared, &first, 1)])
        .await
        .expect("seal");
    assert!(
        !store
            .delete_subscription(&second, &shared)
            .await
            .expect("not the creator")
    );
    assert!(
        store
            .delete_subscription(&first, &shared)
            .await
            .expect("delete")
    );
    assert_eq!(store.subscription(&shared).await.expect("read"), None);
    assert!(
        store
            .account_subscriptions(&account_id)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(pending_ids(&store, all_pending(&first)).await.is_empty());
    assert_eq!(pending_ids(&store, all_pending(&second)).await, kept);
    assert!(no_sealed_keys(&store, &second).await);
}

pub async fn sealed_keys_reach_only_their_recipient(store: Arc<dyn Store>) {
    let (account_id, first) = account(&store).await;
    let second = approved_member(&store, &account_id).await;
    let shared = account_subscription(&store, &account_id, &first).await;
    let older = sealed(&second, &shared, &first, 1);
    store.put_sealed_keys(&[older]).await.expect("seal");
    let newer = sealed(&second, &shared, &first, 2);
    store
        .put_sealed_keys(std::slice::from_ref(&newer))
        .await
        .expect("reseal");
    assert_eq!(
        store.sealed_keys_for(&second).await.expect("read"),
        vec![newer],
        "one bundle per recipient and subscription, the newest"
    );
    assert!(
        store
            .sealed_keys_for(&first)
            .await
            .expect("read")
            .is_empty()
    );
}

pub async fn removing_a_device_deletes_what_was_only_its(store: Arc<dyn Store>) {
    let (account_id, first) = account(&store).await;
    let second = approved_member(&store, &account_id).await;
    let shared = account_subscription(&store, &account_id, &second).await;
    let own = subscription(&store, &second).await;
    enqueue_many(&store, &second, &shared, 2).await;
    enqueue_many(&store, &second, &own, 2).await;
    let first_copy = enqueue_many(&store, &first, &shared, 1).await;
    store
        .put_sealed_keys(&[sealed(&second, &shared, &first, 1)])
        .await
        .expect("seal");
    store
        .set_bridge(
            &second,
            Some(&crate::domain::Bridge::Fcm {
                registration_token: "t".into(),
                project_id: "p".into(),
            }),
        )
        .await
        .expect("bridge");

    assert!(store.remove_device(&second).await.expect("remove"));
    assert_eq!(
        store.device(&second).await.expect("read"),
        None,
        "credential gone"
    );
    assert_eq!(store.account_of(&second).await.expect("read"), None);
    assert_eq!(
        store
            .account_devices(&account_id)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(pending_ids(&store, all_pending(&second)).await.is_empty());
    assert_eq!(store.subscription(&own).await.expect("read"), None);
    assert!(no_sealed_keys(&store, &second).await);
    assert_eq!(store.bridge(&second).await.expect("bridge"), None);
    assert!(
        store.subscription(&shared).await.expect("read").is_some(),
        "the account keeps the subscription this device created"
    );
    assert_eq!(pending_ids(&store, all_pending(&first)).await, first_copy);
    assert!(
        !store.remove_device(&second).await.expect("again"),
        "gone already"
    );
}

pub async fn sender_blocks_are_per_owner(store: Arc<dyn Store>) {
    use crate::domain::BlockOwner;
    let device_id = device(&store).await;
    let (mine, other) = (
        BlockOwner::Device(device_id.clone()).key(),
        BlockOwner::ServiceKeys.key(),
    );
    let (a, b) = (vec![4u8; 65], vec![5u8; 65]);
    store.block_sender(&mine, &a).await.expect("block");
    store.block_sender(&mine, &a).await.expect("block twice");
    store.block_sender(&mine, &b).await.expect("block b");
    store
        .block_sender(&other, &b)
        .await
        .expect("block on another list");
    let mut blocked = store.blocked_senders(&mine).await.expect("list");
    blocked.sort();
    assert_eq!(blocked, vec![a.clone(), b.clone()], "one entry per key");
    assert!(store.unblock_sender(&mine, &b).await.expect("unblock"));
    assert!(!store.unblock_sender(&mine, &b).await.expect("again"));
    assert_eq!(store.blocked_senders(&mine).await.expect("list"), vec![a]);
    assert_eq!(store.blocked_senders(&other).await.expect("list"), vec![b]);
    assert!(store.remove_device(&device_id).await.expect("remove"));
    assert!(
        store.blocked_senders(&mine).await.expect("list").is_empty(),
        "a removed device's list goes with it"
    );
}

pub async fn service_secrets_are_made_once(store: Arc<dyn Store>) {
    let name = format!("test-secret-{}", new_device_id());
    let first = store.service_secret(&name, &[1; 32]).await.expect("first");
    assert_eq!(first, vec![1; 32], "the first candidate is kept");
    let again = store.service_secret(&name, &[2; 32]).await.expect("again");
    assert_eq!(again, vec![1; 32], "later candidates do not replace it");
    let other = format!("{name}-other");
    assert_eq!(
        store.service_secret(&other, &[3; 32]).await.expect("other"),
        vec![3; 32]
    );
}
