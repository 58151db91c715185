//! The one place service errors become gRPC statuses: the code from
//! [`ErrorCode::grpc`], the message the caller reads, and `retry-after`
//! (whole seconds) in the metadata where waiting helps.

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::error::{ApiError, ErrorCode, ServiceError};
use crate::store::StoreError;
use crate::submit::{SubmitError, retry_after_seconds};

pub(crate) fn status_of(error: &dyn ServiceError) -> Status {
    let code = error.code();
    if code == ErrorCode::Internal {
        tracing::error!(%error, "internal failure");
    }
    let mut status = Status::new(code.grpc(), error.public_message());
    if let Some(wait) = error.retry_after() {
        status.metadata_mut().insert(
            "retry-after",
            MetadataValue::from(retry_after_seconds(wait)),
        );
    }
    status
}

macro_rules! into_status {
    ($($error:ty),*) => {$(
        impl From<$error> for Status {
            fn from(error: $error) -> Self {
                status_of(&error)
            }
        }
    )*};
}

into_status!(ApiError, SubmitError, StoreError);
