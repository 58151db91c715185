//! The internal `push.internal.v1.Node` service: other nodes hand this one
//! messages for devices streaming here, and ask it to close replaced streams.
//! It is served only on the cluster listener, behind the shared secret.

use std::sync::Arc;

use push_proto::internal::{self as node_pb, node_server};
use tonic::{Request, Response, Status};

use crate::auth::BearerSecret;
use crate::bridges::policy::RoutingPolicy;
use crate::delivery::{Hub, LiveConnection, Offer};
use crate::domain::{QueuedMessage, Urgency};
use crate::tracing_export::{TARGET, propagation};

pub(crate) struct NodeService {
    hub: Arc<Hub>,
    policy: RoutingPolicy,
}

pub(crate) type Guarded = tonic::service::interceptor::InterceptedService<
    node_server::NodeServer<NodeService>,
    BearerSecret,
>;

/// The node service for `hub`, guarded by `secret`.
pub(crate) fn guarded(hub: Arc<Hub>, policy: RoutingPolicy, secret: &str) -> Guarded {
    node_server::NodeServer::with_interceptor(
        NodeService { hub, policy },
        BearerSecret::new(
            secret,
            "the internal node API needs the cluster secret (authorization: Bearer <secret>)",
        ),
    )
}

#[tonic::async_trait]
impl node_server::Node for NodeService {
    async fn deliver(
        &self,
        request: Request<node_pb::DeliverRequest>,
    ) -> Result<Response<node_pb::DeliverResponse>, Status> {
        // The sending node's `forward` span is the parent: one message, one
        // trace across nodes.
        let span = tracing::info_span!(target: TARGET, "node.deliver", otel.kind = "server");
        propagation::continue_trace(&span, request.metadata());
        let _entered = span.enter();
        let request = request.into_inner();
        let message = request
            .message
            .ok_or_else(|| Status::invalid_argument("DeliverRequest has no message"))?;
        let message = queued(message)?;
        let outcome = match self.hub.get(&message.device_id) {
            None => node_pb::DeliverOutcome::NotConnected,
            Some(live) if request.bridge_available && !self.policy.streams_to(live.presence()) => {
                node_pb::DeliverOutcome::Away
            }
            Some(live) => match offer(&live, &message, request.stored) {
                Offer::Sent => node_pb::DeliverOutcome::Sent,
                Offer::BelowThreshold => node_pb::DeliverOutcome::BelowThreshold,
                Offer::Full => node_pb::DeliverOutcome::BufferFull,
                Offer::Closed => node_pb::DeliverOutcome::NotConnected,
            },
        };
        Ok(Response::new(node_pb::DeliverResponse {
            outcome: outcome as i32,
        }))
    }

    async fn evict(
        &self,
        request: Request<node_pb::EvictRequest>,
    ) -> Result<Response<node_pb::EvictResponse>, Status> {
        let request = request.into_inner();
        if request.revoked {
            let closed = self.hub.revoke(&request.device_id);
            return Ok(Response::new(node_pb::EvictResponse { closed, unacked: 0 }));
        }
        let evicted = self
            .hub
            .evict(&request.device_id, request.claimed_at_micros);
        Ok(Response::new(node_pb::EvictResponse {
            closed: evicted.is_some(),
            unacked: evicted.map_or(0, |unacked| u32::try_from(unacked).unwrap_or(u32::MAX)),
        }))
    }
}

/// A stored message comes back through a replay once the device catches
/// up; a TTL-0 one is simply not delivered.
fn offer(live: &LiveConnection, message: &QueuedMessage, stored: bool) -> Offer {
    match stored {
        true => live.offer_written(message),
        false => live.offer(message),
    }
}

fn queued(message: node_pb::ForwardedMessage) -> Result<QueuedMessage, Status> {
    let urgency = Urgency::from_i32(message.urgency)
        .ok_or_else(|| Status::invalid_argument("forwarded message has an unknown urgency"))?;
    Ok(QueuedMessage {
        id: message.id,
        device_id: message.device_id,
        subscription_id: message.subscription_id,
        topic: Some(message.topic).filter(|topic| !topic.is_empty()),
        urgency,
        payload: message.payload,
        received_at: message.received_at,
        expires_at: message.expires_at,
    })
}
