//! [`SdkError`]: every way a [`crate::Sender`] or [`crate::DeviceClient`] call can fail, and
//! [`IdentityTokenError`], the one way an app's [`crate::TokenSource`] can.
//!
//! Server refusals keep the whole `tonic::Status` so callers can branch on the code (for
//! example, drop a subscription on `NOT_FOUND`); everything else names the local cause.
use crate::crypto::CryptoError;
use crate::store::StoreError;
use crate::subscription::SubscriptionError;
use crate::vapid::VapidError;

#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    #[error("invalid server url {url:?}: {reason}")]
    InvalidServerUrl { url: String, reason: String },
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The server answered with a non-OK status. Boxed because `Status` is large and this
    /// enum travels in every `Result`.
    #[error("server returned {:?}: {}", .0.code(), .0.message())]
    Status(Box<tonic::Status>),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Vapid(#[from] VapidError),
    #[error(transparent)]
    Subscription(#[from] SubscriptionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An RFC 8030 push service refused a message over HTTP (status 0: no
    /// answer at all). 404 and 410 mean the subscription is gone.
    #[error("push service answered {status}: {message}")]
    Http { status: u16, message: String },
    /// The server's reply lacked something the contract promises.
    #[error("unexpected server reply: {0}")]
    Protocol(String),
    /// `open` was given a server other than the one this device registered with; its
    /// credential would be meaningless there.
    #[error(
        "device database belongs to {stored}, not {requested}; use another --db to register there"
    )]
    ServerMismatch { stored: String, requested: String },
    /// RFC 8292 §2.1: the `sub` claim is how a push service reaches the operator, and pushd
    /// refuses tokens without a usable one.
    #[error("sender subject {0:?} must be a mailto: or https: contact")]
    InvalidSubject(String),
    #[error("device database has no registered device; run register first")]
    NotRegistered,
    /// The app's token source had no identity-provider token to give.
    #[error(transparent)]
    IdentityToken(#[from] IdentityTokenError),
}

/// Why a [`crate::TokenSource`] had no token to give (nobody signed in, a refresh failed), in the
/// app's own words.
#[derive(Debug, thiserror::Error)]
#[error("no identity token ({reason}); sign in to the app's identity provider and try again")]
pub struct IdentityTokenError {
    reason: String,
}

impl IdentityTokenError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The app's reason, as it gave it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl From<String> for IdentityTokenError {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<&str> for IdentityTokenError {
    fn from(reason: &str) -> Self {
        Self::new(reason)
    }
}

impl SdkError {
    /// The server's status, when the server is what refused.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            SdkError::Status(status) => Some(status),
            _ => None,
        }
    }

    /// Shorthand for `status().map(Status::code)`.
    pub fn code(&self) -> Option<tonic::Code> {
        self.status().map(tonic::Status::code)
    }
}

impl From<tonic::Status> for SdkError {
    fn from(status: tonic::Status) -> Self {
        SdkError::Status(Box::new(status))
    }
}
