//! The one place domain errors become gRPC statuses.

use tonic::Status;

use crate::auth::{DeviceAuthError, VapidError};
use crate::domain::{HeaderError, TopicError};
use crate::store::StoreError;

pub fn from_store(error: StoreError) -> Status {
    match error {
        StoreError::QueueFull { .. } => Status::resource_exhausted(format!(
            "{error}; the device must connect and ack before more can be queued"
        )),
        StoreError::AlreadyExists(_) => Status::already_exists(error.to_string()),
        StoreError::Unavailable(_) => Status::unavailable(format!("{error}; retry")),
        StoreError::Backend(_) => {
            tracing::error!(%error, "storage failure");
            Status::internal("storage failure; the request was not applied")
        }
    }
}

pub fn from_device_auth(error: DeviceAuthError) -> Status {
    match error {
        DeviceAuthError::Store(error) => from_store(error),
        other => Status::unauthenticated(other.to_string()),
    }
}

pub fn from_vapid(error: VapidError) -> Status {
    Status::unauthenticated(error.to_string())
}

pub fn from_payload(error: HeaderError) -> Status {
    Status::invalid_argument(format!("payload: {error}"))
}

pub fn from_topic(error: TopicError) -> Status {
    Status::invalid_argument(format!("topic: {error}"))
}
