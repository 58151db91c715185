//! The one place domain errors become gRPC statuses.

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::auth::{DeviceAuthError, VapidError};
use crate::store::StoreError;
use crate::submit::{SubmitError, retry_after_seconds};

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

/// `Register` from an address over `register_rate_per_ip`.
pub fn too_many_registrations(wait: std::time::Duration) -> Status {
    let mut status = Status::resource_exhausted(format!(
        "too many devices registered from this address; retry in {} s (register_rate_per_ip)",
        retry_after_seconds(wait)
    ));
    status.metadata_mut().insert(
        "retry-after",
        MetadataValue::from(retry_after_seconds(wait)),
    );
    status
}

pub fn from_device_auth(error: DeviceAuthError) -> Status {
    match error {
        DeviceAuthError::Store(error) => from_store(error),
        DeviceAuthError::ProviderUnavailable => Status::unavailable(error.to_string()),
        other => Status::unauthenticated(other.to_string()),
    }
}

pub fn from_vapid(error: VapidError) -> Status {
    Status::unauthenticated(error.to_string())
}

/// A refused submission or cancel. Rate refusals carry `retry-after`
/// (whole seconds) in the metadata.
pub fn from_submit(error: SubmitError) -> Status {
    let message = error.to_string();
    match error {
        SubmitError::Vapid(error) => from_vapid(error),
        SubmitError::Store(error) => from_store(error),
        SubmitError::SenderBlocked | SubmitError::WrongKey | SubmitError::NotYourMessage => {
            Status::permission_denied(message)
        }
        SubmitError::MissingEndpoint
        | SubmitError::NotAnEndpoint
        | SubmitError::Payload(_)
        | SubmitError::Topic(_) => Status::invalid_argument(message),
        SubmitError::UnknownSubscription
        | SubmitError::Gone(_)
        | SubmitError::UnknownMessage
        | SubmitError::NoReceipt => Status::not_found(message),
        SubmitError::TooFast { wait, .. } => {
            let mut status = Status::resource_exhausted(message);
            status.metadata_mut().insert(
                "retry-after",
                MetadataValue::from(retry_after_seconds(wait)),
            );
            status
        }
    }
}
