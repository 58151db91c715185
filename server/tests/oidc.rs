//! Devices authenticated by an existing identity provider (OpenID Connect
//! bearer JWTs checked against the provider's JWKS, issuer and audience),
//! on the real pushd with a stand-in provider on loopback.

mod support;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use serde_json::json;
use support::Pushd;
use support::idp::{Idp, SigningKey, with_identity};
use support::raw::{Senders, Subscribed, decrypt_text};
use tonic::transport::Channel;
use tonic::{Code, Status};

async fn client(pushd: &Pushd) -> DeviceClient<Channel> {
    DeviceClient::connect(pushd.url.clone())
        .await
        .expect("connect")
}

async fn subscribe(
    client: &mut DeviceClient<Channel>,
    token: &str,
    device_id: Option<&str>,
) -> Result<Subscribed, Status> {
    let keys = push_sdk::crypto::generate_subscription_keys().expect("keys");
    let b64 = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let request = pb::SubscribeRequest {
        p256dh: b64(keys.public_key()),
        auth: b64(keys.auth_secret()),
        ..pb::SubscribeRequest::default()
    };
    let reply = client
        .subscribe(with_identity(request, token, device_id))
        .await?
        .into_inner();
    let subscription = reply.subscription.expect("subscription");
    Ok(Subscribed {
        id: subscription.id,
        endpoint: subscription.endpoint,
        keys,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_token_registers_and_drives_that_users_devices_only() {
    let key = SigningKey::new("key-1");
    let idp = Idp::start(&[&key]).await;
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut client = client(&pushd).await;
    let alice = idp.token(&key, "alice", json!({}));

    let registered = client
        .register(with_identity(pb::RegisterRequest {}, &alice, None))
        .await
        .expect("register with the provider's token")
        .into_inner();
    assert!(
        registered.credential.is_empty(),
        "no pushd credential to keep"
    );
    let device_id = registered.device_id;
    let subscription = subscribe(&mut client, &alice, Some(&device_id))
        .await
        .expect("subscribe");

    // The client half stays open (a closed one ends the stream).
    let (frames, outbound) = tokio::sync::mpsc::channel(4);
    frames
        .send(pb::ClientFrame {
            frame: Some(pb::client_frame::Frame::Hello(pb::Hello::default())),
        })
        .await
        .expect("hello");
    let outbound = tokio_stream::wrappers::ReceiverStream::new(outbound);
    let mut inbound = client
        .listen(with_identity(outbound, &alice, Some(&device_id)))
        .await
        .expect("listen")
        .into_inner();
    let mut sender = Senders::new(&pushd.url).await;
    sender.send_text(&subscription, "for alice", 60).await;
    loop {
        let frame = inbound.message().await.expect("frame").expect("open");
        if let Some(pb::server_frame::Frame::Message(message)) = frame.frame {
            assert_eq!(decrypt_text(&subscription, &message), "for alice");
            break;
        }
    }

    // A fresh token for the same user works; another user's token does not.
    let later = idp.token(&key, "alice", json!({ "iat": 1 }));
    subscribe(&mut client, &later, Some(&device_id))
        .await
        .expect("same user, new token");
    let bob = idp.token(&key, "bob", json!({}));
    let refused = subscribe(&mut client, &bob, Some(&device_id))
        .await
        .err()
        .expect("bob cannot use alice's device");
    assert_eq!(refused.code(), Code::Unauthenticated);
    let refused = subscribe(&mut client, &alice, None)
        .await
        .err()
        .expect("the device id is required");
    assert!(
        refused.message().contains("push-device"),
        "{}",
        refused.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_the_provider_did_not_issue_for_us_are_refused() {
    let key = SigningKey::new("key-1");
    let idp = Idp::start(&[&key]).await;
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut client = client(&pushd).await;
    let now = support::raw::now_secs();
    let stranger_key = SigningKey::new("key-1");
    let cases = [
        (
            "expired",
            idp.token(&key, "alice", json!({ "exp": now - 3600 })),
        ),
        (
            "another audience",
            idp.token(&key, "alice", json!({ "aud": "someone-else" })),
        ),
        (
            "another issuer",
            idp.token(&key, "alice", json!({ "iss": "https://evil.example" })),
        ),
        ("no subject", idp.token(&key, "x", json!({ "sub": null }))),
        (
            "a key the provider does not publish",
            idp.token(&stranger_key, "alice", json!({})),
        ),
        ("not a JWT", "not.a.jwt".to_string()),
    ];
    for (what, token) in cases {
        let refused = client
            .register(with_identity(pb::RegisterRequest {}, &token, None))
            .await
            .expect_err(what);
        assert_eq!(
            refused.code(),
            Code::Unauthenticated,
            "{what}: {}",
            refused.message()
        );
    }
    let missing = client
        .register(pb::RegisterRequest {})
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(
        missing.message().contains("identity"),
        "{}",
        missing.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_when_a_token_names_it() {
    let (old, new) = (SigningKey::new("2026-old"), SigningKey::new("2026-new"));
    let idp = Idp::start(&[&old]).await;
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut client = client(&pushd).await;
    let fetched_at_start = *idp.fetches.lock().expect("lock");
    assert_eq!(fetched_at_start, 1, "fetched once at startup");
    client
        .register(with_identity(
            pb::RegisterRequest {},
            &idp.token(&old, "a", json!({})),
            None,
        ))
        .await
        .expect("cached key");
    assert_eq!(
        *idp.fetches.lock().expect("lock"),
        1,
        "served from the cache"
    );

    idp.publish(&new);
    // Refetches are spaced (5 s) so a flood of bad key ids cannot hammer the provider.
    tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
    client
        .register(with_identity(
            pb::RegisterRequest {},
            &idp.token(&new, "a", json!({})),
            None,
        ))
        .await
        .expect("the new key is fetched");
    assert_eq!(*idp.fetches.lock().expect("lock"), 2);
}

#[test]
fn pushd_stops_when_the_provider_cannot_be_reached() {
    let stderr = support::process::refused_start(&[
        "--oidc-issuer",
        "http://127.0.0.1:9",
        "--oidc-audience",
        "x",
    ]);
    assert!(
        stderr.contains("identity provider") && stderr.contains("openid-configuration"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_registers_and_listens_with_the_users_token() {
    use std::sync::Arc;

    use push_sdk::vapid::VapidKey;
    use push_sdk::{DeviceClient, SendOptions, Sender, TokenSource};
    use support::sdk::SdkListener;

    let key = Arc::new(SigningKey::new("key-1"));
    let idp = Arc::new(Idp::start(&[&key]).await);
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let folder = tempfile::tempdir().expect("temp dir");
    let db = folder.path().join("device.db");
    let token: TokenSource = {
        let (idp, key) = (idp.clone(), key.clone());
        Arc::new(move || Ok(idp.token(&key, "alice", json!({}))))
    };
    let device = DeviceClient::open_with_identity(&pushd.url, &db, token.clone())
        .await
        .expect("register with the provider's token");
    let vapid = VapidKey::generate().expect("vapid");
    let info = device
        .subscribe(Some(&vapid.public_key_raw()))
        .await
        .expect("subscribe");
    let mut listening = SdkListener::start(&device);
    let sender = Sender::connect(&pushd.url, vapid, "mailto:ops@example.com")
        .await
        .expect("sender");
    sender
        .send(
            &info,
            b"signed in with the provider",
            SendOptions::default(),
        )
        .await
        .expect("send");
    assert_eq!(
        listening.next().await.payload,
        b"signed in with the provider"
    );
    listening.stop().await;

    let reopened = DeviceClient::open_with_identity(&pushd.url, &db, token)
        .await
        .expect("reopen");
    assert_eq!(reopened.device_id(), device.device_id());
    let wrong_way = DeviceClient::open(&pushd.url, &db).await;
    assert!(
        wrong_way.is_err(),
        "it has no pushd credential to open with"
    );
    let signed_out: TokenSource = Arc::new(|| Err("signed out".into()));
    let refused = DeviceClient::open_with_identity(&pushd.url, &db, signed_out)
        .await
        .expect("opening needs no call")
        .server_subscription_ids()
        .await
        .expect_err("no token, no call");
    assert!(refused.to_string().contains("signed out"), "{refused}");
}
