//! The one error type apps see: few cases, each saying what to do.

use push_sdk::SdkError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PushError {
    /// The app passed something unusable (a bad scope, key or payload).
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The server or network could not be reached, or asked to retry later.
    #[error("network: {reason}")]
    Network { reason: String },
    /// The server no longer accepts this device (re-register the app's data).
    #[error("not authorized: {reason}")]
    Unauthorized { reason: String },
    /// The server refused the request for another reason.
    #[error("server: {reason}")]
    Server { reason: String },
    /// The local key database could not be used.
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// A message could not be decrypted (wrong keys, corrupted, not ours).
    #[error("crypto: {reason}")]
    Crypto { reason: String },
}

impl From<SdkError> for PushError {
    fn from(error: SdkError) -> Self {
        let reason = error.to_string();
        match &error {
            SdkError::Status(status) => match status.code() {
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => {
                    Self::InvalidInput { reason }
                }
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                    Self::Unauthorized { reason }
                }
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                    Self::Network { reason }
                }
                _ => Self::Server { reason },
            },
            SdkError::Connect { .. } | SdkError::InvalidServerUrl { .. } => {
                Self::Network { reason }
            }
            SdkError::Store(_) | SdkError::ServerMismatch { .. } | SdkError::NotRegistered => {
                Self::Storage { reason }
            }
            SdkError::Crypto(_) => Self::Crypto { reason },
            SdkError::IdentityToken(_) => Self::Unauthorized { reason },
            _ => Self::Server { reason },
        }
    }
}

impl PushError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }
}
