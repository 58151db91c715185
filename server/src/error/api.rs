//! Why the device, account and sender-block services refused a request. The
//! messages say what the caller should change.

use std::time::Duration;

use super::{ErrorCode, ServiceError};
use crate::auth::DeviceAuthError;
use crate::store::StoreError;
use crate::submit::retry_after_seconds;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A field the caller must fix; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// Something the caller named that is not there (or not theirs).
    #[error("{0}")]
    NotFound(String),
    #[error(
        "too many devices registered from this address; retry in {} s (register_rate_per_ip)",
        retry_after_seconds(*.0)
    )]
    TooManyRegistrations(Duration),
    #[error("server is shutting down; reconnect")]
    Draining,
    #[error("this server has no {0} credentials configured, so it cannot use this bridge")]
    NoBridgeCredentials(&'static str),
    #[error("this channel id is taken")]
    ChannelTaken,
    #[error("{whose} has {held} subscriptions (limit {limit}); unsubscribe one first")]
    SubscriptionQuota {
        whose: &'static str,
        held: usize,
        limit: usize,
    },
    #[error("this device has no such subscription")]
    NoSuchSubscription,
    #[error("this application server key is blocked on this push service")]
    KeyBlockedByService,
    #[error("this device blocked this sender; call UnblockSender first if that was a mistake")]
    SenderBlockedByDevice,
    #[error("no subscription of this device is bound to this sender key")]
    NoSubscriptionForKey,
    #[error("this sender key is not blocked here")]
    NotBlocked,
    #[error("this device is waiting for another device of the account to approve it")]
    AwaitingApproval,
    #[error("this device is waiting for approval; it may only remove itself")]
    PendingMayOnlyRemoveItself,
    #[error("this device belongs to no account: call CreateAccount or JoinAccount first")]
    NoAccount,
    #[error("this device already belongs to an account; remove it from that one first")]
    AlreadyInAccount,
    #[error("the account has {devices} devices (limit {limit}); remove one first")]
    AccountFull { devices: usize, limit: usize },
    #[error("device {0} is not approved yet; approve it before sealing keys to it")]
    RecipientNotApproved(String),
    #[error("too many receipt streams on this node (max_receipt_watchers); retry later")]
    TooManyWatchers,
    #[error(transparent)]
    Auth(#[from] DeviceAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A malformed field: `field: problem`.
    pub(crate) fn field(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("{field}: {problem}"))
    }
}

impl ServiceError for ApiError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_)
            | Self::NoSuchSubscription
            | Self::NoSubscriptionForKey
            | Self::NotBlocked => ErrorCode::NotFound,
            Self::TooManyRegistrations(_)
            | Self::SubscriptionQuota { .. }
            | Self::AccountFull { .. }
            | Self::TooManyWatchers => ErrorCode::Exhausted,
            Self::Draining => ErrorCode::Unavailable,
            Self::NoBridgeCredentials(_)
            | Self::NoAccount
            | Self::AlreadyInAccount
            | Self::RecipientNotApproved(_) => ErrorCode::FailedPrecondition,
            Self::ChannelTaken => ErrorCode::AlreadyExists,
            Self::KeyBlockedByService
            | Self::SenderBlockedByDevice
            | Self::AwaitingApproval
            | Self::PendingMayOnlyRemoveItself => ErrorCode::PermissionDenied,
            Self::Auth(error) => error.code(),
            Self::Store(error) => error.code(),
        }
    }

    fn carried(&self) -> Option<&dyn ServiceError> {
        match self {
            Self::Auth(error) => Some(error),
            Self::Store(error) => Some(error),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::TooManyRegistrations(wait) => Some(*wait),
            other => other.carried().and_then(ServiceError::retry_after),
        }
    }
}
