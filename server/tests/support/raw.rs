//! Protocol-level clients: exact frames and statuses, no SDK smoothing.

use std::time::Duration;

use push_proto::v1::{
    self as pb, client_frame, device_client::DeviceClient, sender_client::SenderClient,
    server_frame::Frame,
};
use push_sdk::crypto::{self, SubscriptionKeys};
use push_sdk::vapid::VapidKey;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn with_auth<T>(message: T, authorization: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(authorization).expect("ascii header"),
    );
    request
}

pub struct RawDevice {
    pub client: DeviceClient<Channel>,
    pub device_id: String,
    pub credential: String,
}

pub struct Subscribed {
    pub id: String,
    pub endpoint: String,
    pub keys: SubscriptionKeys,
}

impl RawDevice {
    pub async fn register(url: &str) -> Self {
        let client = DeviceClient::connect(url.to_string())
            .await
            .expect("connect");
        Self::register_on(client).await
    }

    /// Registers through an already made client (e.g. one over TLS).
    pub async fn register_on(mut client: DeviceClient<Channel>) -> Self {
        let registered = client
            .register(pb::RegisterRequest {})
            .await
            .expect("register")
            .into_inner();
        Self {
            client,
            device_id: registered.device_id,
            credential: registered.credential,
        }
    }

    /// The same device, talking to a (restarted) server at `url`.
    pub async fn reconnect(&mut self, url: &str) {
        self.client = DeviceClient::connect(url.to_string())
            .await
            .expect("connect");
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.credential)
    }

    pub async fn subscribe(&mut self, app_server_key: Option<Vec<u8>>) -> Subscribed {
        self.try_subscribe_with(app_server_key)
            .await
            .expect("subscribe")
    }

    /// Subscribe without a sender key, returning the status if refused.
    pub async fn try_subscribe(&mut self) -> Result<Subscribed, Status> {
        self.try_subscribe_with(None).await
    }

    pub async fn try_subscribe_with(
        &mut self,
        app_server_key: Option<Vec<u8>>,
    ) -> Result<Subscribed, Status> {
        let keys = crypto::generate_subscription_keys().expect("keys");
        let request = pb::SubscribeRequest {
            app_server_key: app_server_key.unwrap_or_default(),
            p256dh: push_sdk_b64(keys.public_key()),
            auth: push_sdk_b64(keys.auth_secret()),
            for_account: false,
        };
        let response = self
            .client
            .subscribe(with_auth(request, &self.bearer()))
            .await?
            .into_inner();
        let subscription = response.subscription.expect("subscription");
        Ok(Subscribed {
            id: subscription.id,
            endpoint: subscription.endpoint,
            keys,
        })
    }

    pub async fn listen(&mut self, hello: pb::Hello) -> Result<RawStream, Status> {
        let (frames, outbound) = mpsc::channel(64);
        frames
            .send(pb::ClientFrame {
                frame: Some(client_frame::Frame::Hello(hello)),
            })
            .await
            .expect("queue hello");
        let request = with_auth(ReceiverStream::new(outbound), &self.bearer());
        let inbound = self.client.listen(request).await?.into_inner();
        Ok(RawStream { frames, inbound })
    }
}

impl RawDevice {
    /// Registers an FCM bridge for this device.
    pub async fn set_fcm_bridge(&mut self, token: &str) {
        let request = pb::SetBridgeRequest {
            bridge: Some(pb::set_bridge_request::Bridge::Fcm(pb::FcmBridge {
                registration_token: token.into(),
                project_id: "demo-project".into(),
            })),
        };
        self.client
            .set_bridge(with_auth(request, &self.bearer()))
            .await
            .expect("set bridge");
    }

    pub async fn unsubscribe(&mut self, subscription_id: &str) {
        let request = pb::UnsubscribeRequest {
            subscription_id: subscription_id.to_owned(),
        };
        self.client
            .unsubscribe(with_auth(request, &self.bearer()))
            .await
            .expect("unsubscribe");
    }

    /// Stored messages, fetched without a stream.
    pub async fn fetch(&mut self, message_ids: &[String]) -> Vec<pb::PushMessage> {
        let request = pb::FetchMessagesRequest {
            message_ids: message_ids.to_vec(),
            ..pb::FetchMessagesRequest::default()
        };
        self.client
            .fetch_messages(with_auth(request, &self.bearer()))
            .await
            .expect("fetch")
            .into_inner()
            .messages
    }

    /// Opens a stream for a device with nothing queued, past its empty backlog.
    pub async fn listen_live(&mut self, hello: pb::Hello) -> RawStream {
        let mut stream = self.listen(hello).await.expect("listen");
        assert!(
            stream.backlog().await.is_empty(),
            "nothing was queued for this device"
        );
        stream
    }
}

pub fn push_sdk_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub struct RawStream {
    pub frames: mpsc::Sender<pb::ClientFrame>,
    pub inbound: Streaming<pb::ServerFrame>,
}

impl RawStream {
    /// The next frame; panics after [`WAIT`] so a hung server fails the test.
    pub async fn next(&mut self) -> Result<Option<Frame>, Status> {
        let frame = tokio::time::timeout(WAIT, self.inbound.message())
            .await
            .expect("no frame within the wait")?;
        Ok(frame.and_then(|frame| frame.frame))
    }

    pub async fn next_frame(&mut self) -> Frame {
        self.next()
            .await
            .expect("stream failed")
            .expect("stream ended")
    }

    pub async fn next_message(&mut self) -> pb::PushMessage {
        match self.next_frame().await {
            Frame::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Messages up to `BacklogDone`.
    pub async fn backlog(&mut self) -> Vec<pb::PushMessage> {
        let mut messages = Vec::new();
        loop {
            match self.next_frame().await {
                Frame::Message(message) => messages.push(message),
                Frame::BacklogDone(done) => {
                    assert_eq!(
                        done.sent as usize,
                        messages.len(),
                        "BacklogDone counts what was sent"
                    );
                    return messages;
                }
                other => panic!("unexpected frame before BacklogDone: {other:?}"),
            }
        }
    }

    /// True if nothing arrives for `quiet`.
    pub async fn stays_quiet(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.inbound.message())
            .await
            .is_err()
    }

    pub async fn send(&self, frame: client_frame::Frame) {
        self.frames
            .send(pb::ClientFrame { frame: Some(frame) })
            .await
            .expect("stream open");
    }

    pub async fn ack(&self, ids: &[String]) {
        self.send(client_frame::Frame::Ack(pb::Ack {
            message_ids: ids.to_vec(),
        }))
        .await;
    }
}

/// A sender with its own VAPID key, speaking raw `SubmitMessage`.
pub struct Senders {
    pub client: SenderClient<Channel>,
    pub key: VapidKey,
    pub audience: String,
    /// The VAPID `sub` contact it signs with.
    pub subject: String,
}

impl Senders {
    pub async fn new(url: &str) -> Self {
        let client = SenderClient::connect(url.to_string())
            .await
            .expect("connect");
        Self::on(client, url)
    }

    /// A sender through an already made client, signing for `url`'s origin.
    pub fn on(client: SenderClient<Channel>, url: &str) -> Self {
        Self {
            client,
            key: VapidKey::generate().expect("vapid key"),
            audience: url.trim_end_matches('/').to_string(),
            subject: "mailto:ops@example.com".into(),
        }
    }

    pub fn authorization(&self) -> String {
        let exp = now_secs() + 3600;
        let jwt = self
            .key
            .sign(&self.audience, &self.subject, exp)
            .expect("sign");
        self.key.authorization_header(&jwt)
    }

    pub fn request(endpoint: &str, body: Vec<u8>, ttl: u32) -> pb::SubmitMessageRequest {
        pb::SubmitMessageRequest {
            endpoint: endpoint.into(),
            payload: body,
            ttl_seconds: ttl,
            urgency: 0,
            topic: String::new(),
            receipt: false,
        }
    }

    pub async fn submit(
        &mut self,
        request: pb::SubmitMessageRequest,
    ) -> Result<pb::SubmitMessageResponse, Status> {
        let authorization = self.authorization();
        self.client
            .submit_message(with_auth(request, &authorization))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Like [`Senders::send_text`], for a submission that must be refused.
    pub async fn send_text_refused(
        &mut self,
        subscription: &Subscribed,
        text: &str,
        ttl: u32,
    ) -> Status {
        let body = encrypt_for(subscription, text);
        self.submit(Self::request(&subscription.endpoint, body, ttl))
            .await
            .expect_err("the submission must be refused")
    }

    /// Encrypts `text` for `subscription` and submits it with `ttl`.
    pub async fn send_text(
        &mut self,
        subscription: &Subscribed,
        text: &str,
        ttl: u32,
    ) -> pb::SubmitMessageResponse {
        let body = encrypt_for(subscription, text);
        self.submit(Self::request(&subscription.endpoint, body, ttl))
            .await
            .expect("submit")
    }
}

pub fn encrypt_for(subscription: &Subscribed, text: &str) -> Vec<u8> {
    crypto::encrypt(
        subscription.keys.public_key(),
        subscription.keys.auth_secret(),
        text.as_bytes(),
    )
    .expect("encrypt")
}

pub fn decrypt_text(subscription: &Subscribed, message: &pb::PushMessage) -> String {
    String::from_utf8(crypto::decrypt(&subscription.keys, &message.payload).expect("decrypt"))
        .expect("utf-8")
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}
