//! Who may send, on the real pushd: a device approves senders by
//! subscribing with their keys, lists them, revokes one (it then gets
//! NOT_FOUND) and blocks it so Subscribe refuses it; the operator blocks a
//! sender key or contact service-wide through the admin API.

mod support;

use push_proto::admin::{self as admin_pb, admin_client::AdminClient, sender_ref};
use push_proto::v1 as pb;
use support::raw::{Senders, with_auth};
use support::{Pushd, RawDevice};
use tonic::Code;
use tonic::transport::Channel;

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_revokes_and_blocks_one_sender_and_keeps_the_other() {
    let pushd = Pushd::start(&[]);
    let mut device = RawDevice::register(&pushd.url).await;
    let (mut news, mut shop) = (
        Senders::new(&pushd.url).await,
        Senders::new(&pushd.url).await,
    );
    let news_key = news.key.public_key_raw();
    let from_news = device.subscribe(Some(news_key.clone())).await;
    let also_news = device.subscribe(Some(news_key.clone())).await;
    let from_shop = device.subscribe(Some(shop.key.public_key_raw())).await;
    let bearer = device.bearer();

    let listed = device
        .client
        .list_senders(with_auth(pb::ListSendersRequest {}, &bearer))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.approved.len(), 2);
    let news_entry = listed
        .approved
        .iter()
        .find(|sender| sender.app_server_key == news_key)
        .expect("news listed");
    assert_eq!(news_entry.subscription_ids.len(), 2);
    assert!(listed.blocked.is_empty());

    let revoke = pb::RevokeSenderRequest {
        app_server_key: news_key.clone(),
        block: true,
    };
    let revoked = device
        .client
        .revoke_sender(with_auth(revoke, &bearer))
        .await
        .expect("revoke")
        .into_inner();
    assert_eq!(revoked.removed_subscriptions, 2);
    for subscription in [&from_news, &also_news] {
        let refused = news
            .send_text_refused(subscription, "still there?", 60)
            .await;
        assert_eq!(
            refused.code(),
            Code::NotFound,
            "the revoked sender is told to stop"
        );
    }
    shop.send_text(&from_shop, "the other sender keeps working", 60)
        .await;

    let again = device
        .try_subscribe_with(Some(news_key.clone()))
        .await
        .err()
        .expect("a page cannot approve a blocked sender again");
    assert_eq!(again.code(), Code::PermissionDenied);
    let listed = device
        .client
        .list_senders(with_auth(pb::ListSendersRequest {}, &bearer))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.blocked, vec![news_key.clone()]);
    assert_eq!(listed.approved.len(), 1);

    // Another device is not bound by this device's block.
    let mut other = RawDevice::register(&pushd.url).await;
    other.subscribe(Some(news_key.clone())).await;

    let unblock = pb::UnblockSenderRequest {
        app_server_key: news_key.clone(),
    };
    device
        .client
        .unblock_sender(with_auth(unblock.clone(), &bearer))
        .await
        .expect("unblock");
    let twice = device
        .client
        .unblock_sender(with_auth(unblock, &bearer))
        .await
        .expect_err("nothing left to unblock");
    assert_eq!(twice.code(), Code::NotFound);
    device.subscribe(Some(news_key)).await;

    let bad = device
        .client
        .revoke_sender(with_auth(
            pb::RevokeSenderRequest {
                app_server_key: vec![1, 2, 3],
                block: false,
            },
            &bearer,
        ))
        .await
        .expect_err("not a key");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

async fn admin(url: &str) -> AdminClient<Channel> {
    AdminClient::connect(url.to_string())
        .await
        .expect("connect")
}

fn by_contact(contact: &str) -> Option<admin_pb::SenderRef> {
    Some(admin_pb::SenderRef {
        sender: Some(sender_ref::Sender::Contact(contact.into())),
    })
}

fn by_key(key: Vec<u8>) -> Option<admin_pb::SenderRef> {
    Some(admin_pb::SenderRef {
        sender: Some(sender_ref::Sender::AppServerKey(key)),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_blocks_a_sender_by_key_or_contact() {
    let pushd = Pushd::start(&["--admin-token", ADMIN_TOKEN]);
    let operator = format!("Bearer {ADMIN_TOKEN}");
    let mut device = RawDevice::register(&pushd.url).await;
    let open_subscription = device.subscribe(None).await;
    let (mut spammer, mut honest) = (
        Senders::new(&pushd.url).await,
        Senders::new(&pushd.url).await,
    );

    let mut client = admin(&pushd.url).await;
    let block = admin_pb::BlockSenderRequest {
        sender: by_key(spammer.key.public_key_raw()),
    };
    for authorization in ["", "Bearer wrong-token-wrong-token"] {
        let refused = client
            .block_sender(with_auth(block.clone(), authorization))
            .await
            .expect_err("no admin token, no admin API");
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
    client
        .block_sender(with_auth(block, &operator))
        .await
        .expect("block by key");
    let refused = spammer
        .send_text_refused(&open_subscription, "buy now", 60)
        .await;
    assert_eq!(refused.code(), Code::PermissionDenied);
    honest.send_text(&open_subscription, "hello", 60).await;
    let subscribe = device
        .try_subscribe_with(Some(spammer.key.public_key_raw()))
        .await
        .err()
        .expect("no device may approve a blocked key");
    assert_eq!(subscribe.code(), Code::PermissionDenied);

    // By contact: every key signing as that contact is refused, case aside.
    spammer.subject = "mailto:Bulk@Spam.example".into();
    let mut second_key = Senders::new(&pushd.url).await;
    second_key.subject = "mailto:bulk@spam.example".into();
    let contact_block = admin_pb::BlockSenderRequest {
        sender: by_contact("mailto:BULK@spam.example"),
    };
    client
        .block_sender(with_auth(contact_block, &operator))
        .await
        .expect("block by contact");
    let refused = second_key
        .send_text_refused(&open_subscription, "new key, same sender", 60)
        .await;
    assert_eq!(refused.code(), Code::PermissionDenied);

    let listed = client
        .list_blocked_senders(with_auth(admin_pb::ListBlockedSendersRequest {}, &operator))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.app_server_keys, vec![spammer.key.public_key_raw()]);
    assert_eq!(
        listed.contacts,
        vec!["mailto:bulk@spam.example".to_string()]
    );

    let unblock = admin_pb::UnblockSenderRequest {
        sender: by_contact("mailto:bulk@spam.example"),
    };
    client
        .unblock_sender(with_auth(unblock, &operator))
        .await
        .expect("unblock");
    second_key
        .send_text(&open_subscription, "allowed again", 60)
        .await;
    let bad = client
        .block_sender(with_auth(
            admin_pb::BlockSenderRequest {
                sender: by_contact("spam.example"),
            },
            &operator,
        ))
        .await
        .expect_err("not a VAPID contact");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_there_is_no_admin_api() {
    let pushd = Pushd::start(&[]);
    let refused = admin(&pushd.url)
        .await
        .list_blocked_senders(with_auth(
            admin_pb::ListBlockedSendersRequest {},
            "Bearer anything-at-all-0123456789",
        ))
        .await
        .expect_err("not served");
    assert_eq!(refused.code(), Code::Unimplemented);
    let short = std::process::Command::new(env!("CARGO_BIN_EXE_pushd"))
        .args(["--listen", "127.0.0.1:0", "--admin-token", "short"])
        .output()
        .expect("run pushd");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 16 characters"));
}
