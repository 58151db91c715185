//! What every public connection is served: the gRPC routes (health,
//! reflection, `Sender` behind its gate, `Device`, admin when enabled)
//! behind the HTTP and WebSocket fronts and the request deadline.

use std::convert::Infallible;

use http::{Request, Response};
use push_proto::admin as admin_pb;
use push_proto::v1::{
    FILE_DESCRIPTOR_SET, device_server::DeviceServer, sender_server::SenderServer,
};
use tokio::sync::watch;
use tonic::body::Body;
use tonic_health::server::HealthReporter;
use tower::{Layer as _, Service};

use super::StartError;
use crate::api::{DeviceApi, GuardedAdmin, SenderApi};
use crate::config::Settings;
use crate::http::{FrontsLayer, HttpFront};
use crate::limits::RequestDeadlineLayer;
use crate::services::Services;
use crate::websocket::WebSocketFront;

/// Largest frame a client may send; a Hello or an ack batch is far smaller,
/// and a 4096-byte payload plus framing fits with room to spare.
const MAX_DECODING_BYTES: usize = 64 * 1024;

/// The public service, and the health reporter that says when it stops
/// serving.
pub(super) async fn public_service(
    settings: &Settings,
    services: &Services,
    admin: Option<GuardedAdmin>,
    draining: watch::Receiver<bool>,
) -> Result<
    (
        impl Service<
            Request<Body>,
            Response = Response<Body>,
            Error = Infallible,
            Future = impl Send + 'static,
        > + Clone
        + Send
        + 'static,
        HealthReporter,
    ),
    StartError,
> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SenderServer<SenderApi>>().await;
    health.set_serving::<DeviceServer<DeviceApi>>().await;
    let mut reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        // So `grpcurl` can call the health service by name too.
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    // Advertised only where served: listing it elsewhere would tell a
    // scanner of an API that answers UNIMPLEMENTED.
    if admin.is_some() {
        reflection = reflection.register_encoded_file_descriptor_set(admin_pb::FILE_DESCRIPTOR_SET);
    }
    let reflection = reflection.build_v1().map_err(StartError::Reflection)?;
    let sender_api = SenderApi::new(services);
    let mut routes =
        tonic::service::Routes::new(health_service.max_decoding_message_size(MAX_DECODING_BYTES))
            .add_service(reflection.max_decoding_message_size(MAX_DECODING_BYTES))
            .add_service(
                sender_api.gate().layer(
                    SenderServer::new(sender_api).max_decoding_message_size(MAX_DECODING_BYTES),
                ),
            )
            .add_service(
                DeviceServer::new(DeviceApi::new(services))
                    .max_decoding_message_size(MAX_DECODING_BYTES),
            );
    if let Some(admin) = admin {
        routes = routes.add_service(admin);
    }
    let fronts = FrontsLayer {
        http: HttpFront::new(
            services.sender.clone(),
            draining,
            settings.handshake_timeout,
        ),
        websocket: WebSocketFront::new(
            services.devices.clone(),
            services.subscriptions.clone(),
            settings.handshake_timeout,
        ),
    };
    let service = tower::ServiceBuilder::new()
        // Outermost: requests that are not gRPC never reach the gRPC routes.
        .layer(fronts)
        // Inside the split: an HTTP push has its own body deadline and status.
        .layer(RequestDeadlineLayer {
            limit: settings.connections.request_timeout,
        })
        .service(routes.prepare());
    Ok((service, health))
}

/// Tells health checkers the public services are going away.
pub(super) async fn not_serving(health: &HealthReporter) {
    health.set_not_serving::<SenderServer<SenderApi>>().await;
    health.set_not_serving::<DeviceServer<DeviceApi>>().await;
}
