//! A scriptable stand-in for pushd, so SDK behaviour (headers, frame order, acks, reconnects)
//! can be checked without the real server. Each `Listen` call is handed to the test as a
//! [`StreamConn`], which the test drives frame by frame.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use push_proto::v1::device_server::{Device, DeviceServer};
use push_proto::v1::sender_server::{Sender, SenderServer};
use push_proto::v1::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

pub const CREDENTIAL: &str = "test-credential";

/// One open `Listen` stream, seen from the server.
pub struct StreamConn {
    pub authorization: String,
    pub to_device: mpsc::Sender<Result<ServerFrame, Status>>,
    pub from_device: mpsc::UnboundedReceiver<ClientFrame>,
}

#[derive(Default)]
pub struct Recorded {
    pub registrations: usize,
    pub subscribe_requests: Vec<(String, SubscribeRequest)>,
    pub submitted: Vec<(String, SubmitMessageRequest)>,
    pub unsubscribed: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    base_url: String,
    recorded: Arc<Mutex<Recorded>>,
    streams: mpsc::UnboundedSender<StreamConn>,
}

pub struct FakePushd {
    pub url: String,
    pub recorded: Arc<Mutex<Recorded>>,
    pub streams: mpsc::UnboundedReceiver<StreamConn>,
}

impl FakePushd {
    pub async fn start() -> FakePushd {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (streams_tx, streams) = mpsc::unbounded_channel();
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let fake = Fake {
            base_url: url.clone(),
            recorded: Arc::clone(&recorded),
            streams: streams_tx,
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(DeviceServer::new(fake.clone()))
                .add_service(SenderServer::new(fake))
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        FakePushd {
            url,
            recorded,
            streams,
        }
    }

    pub async fn next_stream(&mut self) -> StreamConn {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.streams.recv())
            .await
            .expect("device opened a Listen stream in time")
            .expect("server alive")
    }
}

impl StreamConn {
    pub async fn next_frame(&mut self) -> client_frame::Frame {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.from_device.recv())
            .await
            .expect("device sent a frame in time")
            .expect("stream open")
            .frame
            .expect("frame set")
    }

    pub async fn send(&self, frame: server_frame::Frame) {
        self.to_device
            .send(Ok(ServerFrame { frame: Some(frame) }))
            .await
            .unwrap();
    }
}

fn authorization<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn check_bearer<T>(request: &Request<T>) -> Result<(), Status> {
    if authorization(request) == format!("Bearer {CREDENTIAL}") {
        Ok(())
    } else {
        Err(Status::unauthenticated("bad credential"))
    }
}

#[tonic::async_trait]
impl Device for Fake {
    async fn register(
        &self,
        _: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        self.recorded.lock().unwrap().registrations += 1;
        Ok(Response::new(RegisterResponse {
            device_id: "device-1".into(),
            credential: CREDENTIAL.into(),
        }))
    }

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<SubscribeResponse>, Status> {
        check_bearer(&request)?;
        let mut recorded = self.recorded.lock().unwrap();
        let id = format!("sub-{}", recorded.subscribe_requests.len() + 1);
        recorded
            .subscribe_requests
            .push((authorization(&request), request.get_ref().clone()));
        let endpoint = format!("{}/p/token-{id}", self.base_url);
        Ok(Response::new(SubscribeResponse {
            subscription: Some(Subscription {
                id,
                endpoint,
                app_server_key: request.get_ref().app_server_key.clone(),
                created_at_unix_ms: 1,
                for_account: false,
            }),
            subscription_json: String::new(),
        }))
    }

    async fn unsubscribe(
        &self,
        request: Request<UnsubscribeRequest>,
    ) -> Result<Response<UnsubscribeResponse>, Status> {
        check_bearer(&request)?;
        let id = request.into_inner().subscription_id;
        self.recorded.lock().unwrap().unsubscribed.push(id);
        Ok(Response::new(UnsubscribeResponse {}))
    }

    async fn list_subscriptions(
        &self,
        _: Request<ListSubscriptionsRequest>,
    ) -> Result<Response<ListSubscriptionsResponse>, Status> {
        Err(Status::unimplemented("not needed by the SDK"))
    }

    async fn set_bridge(
        &self,
        _: Request<push_proto::v1::SetBridgeRequest>,
    ) -> Result<Response<push_proto::v1::SetBridgeResponse>, Status> {
        Err(Status::unimplemented(
            "bridges are tested against the real pushd",
        ))
    }

    async fn remove_bridge(
        &self,
        _: Request<push_proto::v1::RemoveBridgeRequest>,
    ) -> Result<Response<push_proto::v1::RemoveBridgeResponse>, Status> {
        Err(Status::unimplemented(
            "bridges are tested against the real pushd",
        ))
    }

    async fn fetch_messages(
        &self,
        _: Request<push_proto::v1::FetchMessagesRequest>,
    ) -> Result<Response<push_proto::v1::FetchMessagesResponse>, Status> {
        Err(Status::unimplemented(
            "fetching is tested against the real pushd",
        ))
    }

    async fn ack_messages(
        &self,
        _: Request<push_proto::v1::AckMessagesRequest>,
    ) -> Result<Response<push_proto::v1::AckMessagesResponse>, Status> {
        Err(Status::unimplemented(
            "unary acks are tested against the real pushd",
        ))
    }

    async fn create_account(
        &self,
        _: Request<CreateAccountRequest>,
    ) -> Result<Response<CreateAccountResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn join_account(
        &self,
        _: Request<JoinAccountRequest>,
    ) -> Result<Response<JoinAccountResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn list_account_devices(
        &self,
        _: Request<ListAccountDevicesRequest>,
    ) -> Result<Response<ListAccountDevicesResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn approve_device(
        &self,
        _: Request<ApproveDeviceRequest>,
    ) -> Result<Response<ApproveDeviceResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn remove_device(
        &self,
        _: Request<RemoveDeviceRequest>,
    ) -> Result<Response<RemoveDeviceResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn put_sealed_keys(
        &self,
        _: Request<PutSealedKeysRequest>,
    ) -> Result<Response<PutSealedKeysResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn fetch_sealed_keys(
        &self,
        _: Request<FetchSealedKeysRequest>,
    ) -> Result<Response<FetchSealedKeysResponse>, Status> {
        Err(Status::unimplemented(
            "accounts are tested against the real pushd",
        ))
    }

    async fn list_senders(
        &self,
        _: Request<ListSendersRequest>,
    ) -> Result<Response<ListSendersResponse>, Status> {
        Err(Status::unimplemented(
            "sender controls are tested against the real pushd",
        ))
    }

    async fn revoke_sender(
        &self,
        _: Request<RevokeSenderRequest>,
    ) -> Result<Response<RevokeSenderResponse>, Status> {
        Err(Status::unimplemented(
            "sender controls are tested against the real pushd",
        ))
    }

    async fn unblock_sender(
        &self,
        _: Request<UnblockSenderRequest>,
    ) -> Result<Response<UnblockSenderResponse>, Status> {
        Err(Status::unimplemented(
            "sender controls are tested against the real pushd",
        ))
    }

    type ListenStream = ReceiverStream<Result<ServerFrame, Status>>;

    async fn listen(
        &self,
        request: Request<Streaming<ClientFrame>>,
    ) -> Result<Response<Self::ListenStream>, Status> {
        check_bearer(&request)?;
        let authorization = authorization(&request);
        let mut inbound = request.into_inner();
        let (from_device_tx, from_device) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(frame)) = inbound.message().await {
                let _ = from_device_tx.send(frame);
            }
        });
        let (to_device, rx) = mpsc::channel(16);
        let _ = self.streams.send(StreamConn {
            authorization,
            to_device,
            from_device,
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

#[tonic::async_trait]
impl Sender for Fake {
    async fn submit_message(
        &self,
        request: Request<SubmitMessageRequest>,
    ) -> Result<Response<SubmitMessageResponse>, Status> {
        let mut recorded = self.recorded.lock().unwrap();
        recorded
            .submitted
            .push((authorization(&request), request.get_ref().clone()));
        Ok(Response::new(SubmitMessageResponse {
            message_id: format!("msg-{}", recorded.submitted.len()),
            outcome: Outcome::Stored.into(),
            ttl_seconds: request.get_ref().ttl_seconds.min(3600),
            devices: 1,
            devices_full: 0,
            location: String::new(),
        }))
    }

    type WatchReceiptsStream = ReceiverStream<Result<push_proto::v1::ReceiptEvent, Status>>;

    /// The fake keeps no receipts: the stream ends at once.
    async fn watch_receipts(
        &self,
        _request: Request<push_proto::v1::WatchReceiptsRequest>,
    ) -> Result<Response<Self::WatchReceiptsStream>, Status> {
        let (_, rx) = mpsc::channel(1);
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
