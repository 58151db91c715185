//! The APNs bridge without Apple: `apns-h2` cannot be pointed at a test
//! server, so these tests check the bridge's own logic through a fake
//! [`ApnsTransport`] — the request built (against Apple's documented
//! format, and as apns-h2 serialises it), answers mapped, tokens forgotten,
//! retries — and the rest runs on the real SQLite store.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use pushd::bridges::apns::{
    ApnsFailure, ApnsProvider, ApnsRequest, ApnsTransport, Priority, classify,
};
use pushd::bridges::policy::RoutingPolicy;
use pushd::bridges::retry::{RetryPolicy, Retrying};
use pushd::bridges::{Bridges, Notice, ProviderError, WorkerPool};
use pushd::delivery::Hub;
use pushd::domain::{
    Bridge, DeviceRecord, QueuedMessage, SubscriptionRecord, Urgency, new_device_id,
    new_message_id, new_subscription_id, now_millis,
};
use pushd::store::sqlite::{SqliteOptions, SqliteStore};
use pushd::store::{Admission, RetentionLimits, Store};
use serde_json::{Value, json};

const BUNDLE: &str = "org.example.pushapp";

fn message(urgency: Urgency, payload_len: usize, topic: Option<&str>) -> QueuedMessage {
    QueuedMessage {
        id: new_message_id(),
        device_id: new_device_id(),
        subscription_id: new_subscription_id(),
        topic: topic.map(str::to_string),
        urgency,
        payload: vec![0x5A; payload_len],
        received_at: now_millis(),
        expires_at: now_millis() + 3_600_000,
    }
}

fn request_for(message: &QueuedMessage) -> ApnsRequest {
    let notice = Notice::from_message(message);
    ApnsRequest::new(
        "a1b2c3d4",
        BUNDLE,
        false,
        &notice,
        "New notification",
        now_millis(),
    )
}

#[test]
fn the_request_follows_apples_documented_format() {
    let queued = message(Urgency::High, 200, Some("weather"));
    let request = request_for(&queued);
    // Headers ("Sending notification requests to APNs").
    assert_eq!(request.topic, BUNDLE, "apns-topic is the bundle id");
    assert_eq!(request.apns_id, queued.id, "apns-id is our message id");
    assert!(
        uuid::Uuid::parse_str(&request.apns_id).is_ok(),
        "apns-id must be a UUID"
    );
    assert_eq!(request.priority, Priority::Immediate, "apns-priority 10");
    let expected_expiry = (queued.expires_at / 1000) as u64;
    assert!(
        request.expiration.abs_diff(expected_expiry) <= 1,
        "apns-expiration"
    );
    assert_eq!(
        request.collapse_id.as_deref(),
        Some("weather"),
        "apns-collapse-id"
    );
    // Body ("Generating a remote notification"): an alert, mutable-content so
    // the Notification Service Extension decrypts, custom keys outside aps.
    let body = request.payload();
    assert_eq!(
        body["aps"],
        json!({"alert": {"title": "New notification"}, "mutable-content": 1})
    );
    let push = &body["push"];
    assert_eq!(push["v"], "1");
    assert_eq!(push["id"], Value::String(queued.id.clone()));
    assert_eq!(push["sub"], Value::String(queued.subscription_id.clone()));
    let ciphertext = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(push["enc"].as_str().expect("enc"))
        .expect("base64url");
    assert_eq!(
        ciphertext, queued.payload,
        "the ciphertext travels untouched"
    );
    assert!(request.body().len() <= 4096, "APNs limit");

    // apns-h2 serialises exactly this body.
    let rendered = pushd::bridges::apns::client::payload(&request);
    let rendered: Value = serde_json::from_str(
        &apns_h2::request::payload::PayloadLike::to_json_string(&rendered).expect("json"),
    )
    .expect("parse");
    assert_eq!(rendered, body);
}

#[test]
fn low_urgency_conserves_power_and_big_messages_become_wake_ups() {
    let low = request_for(&message(Urgency::Low, 100, None));
    assert_eq!(low.priority, Priority::Conserve, "apns-priority 5");
    assert_eq!(low.collapse_id, None);

    let big = request_for(&message(Urgency::Normal, 4000, None));
    let push = &big.payload()["push"];
    assert_eq!(push["fetch"], "1", "too big for APNs: the app fetches it");
    assert!(push.get("enc").is_none());
    assert!(big.body().len() <= 4096);
}

#[test]
fn apple_answers_map_to_what_the_bridge_does() {
    let failure = |status: Option<u16>, reason: &str| ApnsFailure {
        status,
        reason: Some(reason.to_string()).filter(|reason| !reason.is_empty()),
    };
    let gone = |error: ProviderError| matches!(error, ProviderError::TokenGone(_));
    let retry = |error: ProviderError| matches!(error, ProviderError::Retry { .. });
    let auth = |error: ProviderError| matches!(error, ProviderError::Auth(_));
    assert!(gone(classify(failure(Some(410), "Unregistered"))));
    assert!(gone(classify(failure(Some(400), "BadDeviceToken"))));
    assert!(gone(classify(failure(Some(400), "DeviceTokenNotForTopic"))));
    assert!(retry(classify(failure(Some(429), "TooManyRequests"))));
    assert!(retry(classify(failure(Some(503), "ServiceUnavailable"))));
    assert!(retry(classify(failure(Some(500), "InternalServerError"))));
    assert!(retry(classify(failure(None, "connection reset"))));
    assert!(auth(classify(failure(Some(403), "ExpiredProviderToken"))));
    assert!(auth(classify(failure(Some(403), "InvalidProviderToken"))));
    assert!(matches!(
        classify(failure(Some(400), "BadTopic")),
        ProviderError::Rejected(_)
    ));
}

/// Records requests; answers from a script, then OK.
#[derive(Default)]
struct FakeApns {
    requests: Mutex<Vec<ApnsRequest>>,
    script: Mutex<VecDeque<Result<(), ApnsFailure>>>,
}

#[derive(Clone)]
struct Fake(Arc<FakeApns>);

#[async_trait]
impl ApnsTransport for Fake {
    async fn post(&self, request: &ApnsRequest) -> Result<(), ApnsFailure> {
        self.0.requests.lock().expect("lock").push(request.clone());
        self.0
            .script
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(Ok(()))
    }
}

struct Rig {
    store: Arc<dyn Store>,
    bridges: Arc<Bridges>,
    fake: Arc<FakeApns>,
    device_id: String,
    _dir: tempfile::TempDir,
}

async fn rig(script: Vec<Result<(), ApnsFailure>>) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("p.sqlite3"), SqliteOptions::default()).expect("open"),
    );
    let fake = Arc::new(FakeApns {
        script: Mutex::new(script.into()),
        ..FakeApns::default()
    });
    let quick = RetryPolicy {
        max_attempts: 3,
        first_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(1),
    };
    let provider = Retrying::new(ApnsProvider::new(Fake(fake.clone()), "New"), quick);
    let pool = WorkerPool {
        workers: 4,
        call_timeout: Duration::from_secs(10),
        retry: quick,
    };
    let bridges = Arc::new(Bridges::new(
        store.clone(),
        Arc::new(Hub::default()),
        vec![Arc::new(provider)],
        RoutingPolicy::default(),
        pool,
    ));
    let device_id = new_device_id();
    store
        .create_device(&DeviceRecord {
            id: device_id.clone(),
            secret_hash: vec![0; 32],
            created_at: now_millis(),
        })
        .await
        .expect("device");
    Rig {
        store,
        bridges,
        fake,
        device_id,
        _dir: dir,
    }
}

fn apns_bridge(token: &str) -> Bridge {
    Bridge::Apns {
        device_token: token.into(),
        topic: BUNDLE.into(),
        sandbox: true,
    }
}

impl Rig {
    /// Stores a message for the device with a bridge, dispatches it, and
    /// waits until the fake saw `requests` calls.
    async fn bridge_one(&self, bridge: &Bridge, requests: usize) -> QueuedMessage {
        self.store
            .set_bridge(&self.device_id, Some(bridge))
            .await
            .expect("set bridge");
        let subscription_id = new_subscription_id();
        self.store
            .create_subscription(&SubscriptionRecord {
                id: subscription_id.clone(),
                device_id: self.device_id.clone(),
                app_server_key: None,
                created_at: now_millis(),
                account_id: None,
            })
            .await
            .expect("subscription");
        let queued = QueuedMessage {
            device_id: self.device_id.clone(),
            subscription_id,
            ..message(Urgency::High, 64, None)
        };
        let roomy = Admission::Queue(RetentionLimits {
            max_messages: 100,
            max_bytes: 1 << 20,
        });
        self.store
            .enqueue(queued.clone(), roomy)
            .await
            .expect("enqueue");
        self.bridges.dispatch(&queued, bridge.clone()).await;
        for _ in 0..200 {
            if self.fake.requests.lock().expect("lock").len() >= requests {
                // Give the dispatcher a moment to act on the last answer.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return queued;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the fake APNs never saw {requests} requests");
    }

    async fn still_stored(&self, queued: &QueuedMessage) -> bool {
        let ids = [queued.id.clone()];
        !self
            .store
            .messages(&self.device_id, &ids, now_millis())
            .await
            .expect("messages")
            .is_empty()
    }
}

#[tokio::test]
async fn an_unregistered_token_is_forgotten_and_the_message_kept() {
    let rig = rig(vec![Err(ApnsFailure {
        status: Some(410),
        reason: Some("Unregistered".into()),
    })])
    .await;
    let queued = rig.bridge_one(&apns_bridge("dead0001"), 1).await;
    assert_eq!(rig.store.bridge(&rig.device_id).await.expect("read"), None);
    assert!(
        rig.still_stored(&queued).await,
        "for the device's next stream"
    );
    assert_eq!(rig.fake.requests.lock().expect("lock").len(), 1, "no retry");
}

#[tokio::test]
async fn a_busy_apns_is_retried_and_credentials_trouble_is_not() {
    let busy = rig(vec![Err(ApnsFailure {
        status: Some(503),
        reason: Some("ServiceUnavailable".into()),
    })])
    .await;
    busy.bridge_one(&apns_bridge("0b5e0001"), 2).await;
    let sent = busy.fake.requests.lock().expect("lock").clone();
    assert_eq!(sent.len(), 2, "once refused, once accepted");
    assert_eq!(sent[0], sent[1], "the same request again");
    assert!(sent[0].sandbox, "the bridge's environment");

    let refused = rig(vec![Err(ApnsFailure {
        status: Some(403),
        reason: Some("ExpiredProviderToken".into()),
    })])
    .await;
    let queued = refused.bridge_one(&apns_bridge("0b5e0002"), 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(refused.fake.requests.lock().expect("lock").len(), 1);
    assert_eq!(
        refused
            .store
            .bridge(&refused.device_id)
            .await
            .expect("read"),
        Some(apns_bridge("0b5e0002")),
        "our credentials are at fault, not the device's token"
    );
    assert!(refused.still_stored(&queued).await);
}

/// pushd starts with APNs token credentials (a .p8 key as Apple issues it)
/// and then accepts APNs bridges; a broken key stops it with a clear message.
#[tokio::test]
async fn pushd_takes_apns_token_credentials_and_refuses_a_broken_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).expect("curve"),
    )
    .expect("key");
    let pem = openssl::pkey::PKey::from_ec_key(key)
        .expect("pkey")
        .private_key_to_pem_pkcs8()
        .expect("pem");
    let p8 = dir.path().join("AuthKey_ABC123DEFG.p8");
    std::fs::write(&p8, pem).expect("write key");
    let p8 = p8.display().to_string();
    let apns = [
        "--apns-key-file",
        &p8,
        "--apns-key-id",
        "ABC123DEFG",
        "--apns-team-id",
        "TEAM123456",
    ];
    let pushd = support::Pushd::start(&apns);
    let mut device = support::RawDevice::register(&pushd.url).await;
    let request = push_proto::v1::SetBridgeRequest {
        bridge: Some(push_proto::v1::set_bridge_request::Bridge::Apns(
            push_proto::v1::ApnsBridge {
                device_token: "A1B2C3D4".into(),
                topic: BUNDLE.into(),
                sandbox: false,
            },
        )),
    };
    device
        .client
        .set_bridge(support::raw::with_auth(request, &device.bearer()))
        .await
        .expect("an APNs bridge is accepted");

    let broken = dir.path().join("broken.p8");
    std::fs::write(&broken, "not a key").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pushd"))
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "off"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--apns-key-file")
        .arg(&broken)
        .args([
            "--apns-key-id",
            "ABC123DEFG",
            "--apns-team-id",
            "TEAM123456",
        ])
        .output()
        .expect("run pushd");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("APNs signing key"), "{stderr}");
}
