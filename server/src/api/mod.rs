//! The public gRPC front: `push.v1.Sender` for site backends and
//! `push.v1.Device` for devices, thin adapters over the transport-free
//! services ([`crate::services`]). A handler reads the request, calls one
//! service, and writes the reply; every service error becomes a status in
//! one place ([`status`]).

mod admin;
mod convert;
mod device;
mod sender;
mod status;

use std::sync::Arc;

use tonic::Request;

pub(crate) use admin::{GuardedAdmin, admin_service};

use crate::account::Accounts;
use crate::auth::Presented;
use crate::device::{Devices, Subscriptions};
use crate::limits::SenderGateLayer;
use crate::senders::SenderBlocks;
use crate::services::Services;
use crate::submit::Submitter;

/// `push.v1.Device`: the services a device calls.
#[derive(Clone)]
pub(crate) struct DeviceApi {
    devices: Devices,
    subscriptions: Subscriptions,
    senders: SenderBlocks,
    accounts: Accounts,
}

impl DeviceApi {
    pub(crate) fn new(services: &Services) -> Self {
        Self {
            devices: services.devices.clone(),
            subscriptions: services.subscriptions.clone(),
            senders: services.senders.clone(),
            accounts: services.accounts.clone(),
        }
    }

    /// The calling device, from its `authorization` (and, with an identity
    /// provider, `push-device`) metadata.
    async fn device_id<T>(&self, request: &Request<T>) -> Result<String, tonic::Status> {
        let presented = Presented {
            authorization: authorization(request),
            device_id: request
                .metadata()
                .get("push-device")
                .and_then(|value| value.to_str().ok()),
        };
        let device = self
            .devices
            .authenticate(&presented, request.remote_addr())
            .await?;
        Ok(device.device_id)
    }
}

/// `push.v1.Sender`: the sender service.
#[derive(Clone)]
pub(crate) struct SenderApi {
    submitter: Submitter,
}

impl SenderApi {
    pub(crate) fn new(services: &Services) -> Self {
        Self {
            submitter: services.sender.clone(),
        }
    }

    /// The layer to put in front of the `Sender` service: the sender
    /// service's identification, answered as a status.
    pub(crate) fn gate(&self) -> SenderGateLayer {
        let submitter = self.submitter.clone();
        SenderGateLayer {
            identify: Arc::new(move |authorization| Ok(submitter.identify(authorization)?)),
        }
    }
}

fn authorization<T>(request: &Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
}
