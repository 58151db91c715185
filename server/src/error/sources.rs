//! Where the errors of the layers below the services stand in the one model.

use std::time::Duration;

use super::{ErrorCode, ServiceError};
use crate::auth::{DeviceAuthError, VapidError};
use crate::delivery::StreamError;
use crate::domain::HeaderError;
use crate::store::StoreError;
use crate::submit::SubmitError;

/// How long a sender should wait when a device's queue is full: long enough
/// for the device to come back and ack, short enough not to lose the message.
const QUEUE_FULL_RETRY: Duration = Duration::from_secs(60);
/// How long to wait while the store or this node is unavailable.
pub(crate) const UNAVAILABLE_RETRY: Duration = Duration::from_secs(5);

impl ServiceError for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::QueueFull { .. } => ErrorCode::Exhausted,
            Self::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Backend(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::QueueFull { .. } => {
                format!("{self}; the device must connect and ack before more can be queued")
            }
            Self::Unavailable(_) => format!("{self}; retry"),
            Self::Backend(_) => "storage failure; the request was not applied".into(),
            Self::AlreadyExists(_) => self.to_string(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::QueueFull { .. } => Some(QUEUE_FULL_RETRY),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY),
            _ => None,
        }
    }
}

impl ServiceError for DeviceAuthError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Store(error) => error.code(),
            Self::ProviderUnavailable => ErrorCode::Unavailable,
            _ => ErrorCode::Unauthenticated,
        }
    }

    fn carried(&self) -> Option<&dyn ServiceError> {
        match self {
            Self::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl ServiceError for VapidError {
    fn code(&self) -> ErrorCode {
        ErrorCode::Unauthenticated
    }
}

impl ServiceError for SubmitError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Vapid(_) => ErrorCode::Unauthenticated,
            Self::SenderBlocked | Self::WrongKey | Self::NotYourMessage => {
                ErrorCode::PermissionDenied
            }
            Self::MissingEndpoint | Self::NotAnEndpoint => ErrorCode::NotAnEndpoint,
            Self::Payload(HeaderError::TooLarge(_)) => ErrorCode::TooLarge,
            Self::Payload(_) | Self::Topic(_) => ErrorCode::InvalidArgument,
            Self::UnknownSubscription | Self::UnknownMessage | Self::NoReceipt => {
                ErrorCode::NotFound
            }
            Self::Gone(_) => ErrorCode::Gone,
            Self::TooFast { .. } => ErrorCode::Exhausted,
            Self::Store(error) => error.code(),
        }
    }

    fn carried(&self) -> Option<&dyn ServiceError> {
        match self {
            Self::Store(error) => Some(error),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooFast { wait, .. } => Some(*wait),
            other => other.carried().and_then(ServiceError::retry_after),
        }
    }
}

impl ServiceError for StreamError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::NoHello(_) => ErrorCode::Deadline,
            Self::HelloFirst => ErrorCode::FailedPrecondition,
            Self::BadHello | Self::Malformed(_) => ErrorCode::InvalidArgument,
            // Worth a reconnect, whatever the store said.
            Self::Route(_) | Self::Replay(_) => ErrorCode::Unavailable,
        }
    }
}
