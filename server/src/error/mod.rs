//! One error model for every front. Each service has its own error enum
//! (thiserror): [`crate::submit::SubmitError`] for senders, [`ApiError`] for
//! the device, account and sender-block services, and the store's and
//! authenticators' own. Each says, through [`ServiceError`], which kind of
//! refusal it is (an [`ErrorCode`]), what the caller should read, and how long
//! to wait. The code is mapped to the wire once per wire: gRPC in
//! [`ErrorCode::grpc`], HTTP (RFC 8030 and the WebSocket protocol's status
//! numbers) in [`ErrorCode::http`].

mod api;
mod sources;

pub(crate) use sources::UNAVAILABLE_RETRY;

use std::time::Duration;

use http::StatusCode;

pub(crate) use api::ApiError;

/// The kinds of refusal a caller acts on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// The request is malformed or breaks a rule: change it.
    InvalidArgument,
    /// A payload over the size limit (HTTP has its own status for it).
    TooLarge,
    /// A URL that is not an endpoint of this service: HTTP's 404 for a
    /// path, gRPC's `INVALID_ARGUMENT` for a field.
    NotAnEndpoint,
    NotFound,
    /// Was there, is no more: a web-push library deletes the subscription.
    Gone,
    AlreadyExists,
    /// Who the caller is, is known; what it asks is not allowed.
    PermissionDenied,
    /// The caller's identity is missing or wrong.
    Unauthenticated,
    /// The caller must do something else first.
    FailedPrecondition,
    /// The caller took too long.
    Deadline,
    /// A limit: retry later (see [`ServiceError::retry_after`]) or free something.
    Exhausted,
    /// This node or its store cannot serve now: retry.
    Unavailable,
    /// Our fault; logged where it happened.
    Internal,
}

impl ErrorCode {
    pub(crate) fn grpc(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::InvalidArgument | Self::TooLarge | Self::NotAnEndpoint => Code::InvalidArgument,
            Self::NotFound | Self::Gone => Code::NotFound,
            Self::AlreadyExists => Code::AlreadyExists,
            Self::PermissionDenied => Code::PermissionDenied,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::FailedPrecondition => Code::FailedPrecondition,
            Self::Deadline => Code::DeadlineExceeded,
            Self::Exhausted => Code::ResourceExhausted,
            Self::Unavailable => Code::Unavailable,
            Self::Internal => Code::Internal,
        }
    }

    pub(crate) fn http(self) -> StatusCode {
        match self {
            Self::InvalidArgument => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotAnEndpoint | Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone => StatusCode::GONE,
            Self::AlreadyExists => StatusCode::CONFLICT,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
            Self::Deadline => StatusCode::REQUEST_TIMEOUT,
            Self::Exhausted => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What every service error tells a front.
pub(crate) trait ServiceError: std::error::Error {
    fn code(&self) -> ErrorCode;

    /// The error of a layer below this one that this error only carries
    /// (a store failure during a submission): it then speaks for it.
    fn carried(&self) -> Option<&dyn ServiceError> {
        None
    }

    /// What the caller reads: by default the error itself; our own failures
    /// say only that the request was not applied.
    fn public_message(&self) -> String {
        match self.carried() {
            Some(carried) => carried.public_message(),
            None => self.to_string(),
        }
    }

    /// How long to wait before retrying, where waiting helps.
    fn retry_after(&self) -> Option<Duration> {
        self.carried().and_then(ServiceError::retry_after)
    }
}
