//! A device's mobile push bridge: where to wake it when it holds no stream.

use super::UnixMillis;

/// The provider address of one app install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bridge {
    /// Apple Push Notification service.
    Apns {
        /// The hex device token the app got from `registerForRemoteNotifications`.
        device_token: String,
        /// The app's bundle id (the `apns-topic` header).
        topic: String,
        /// The development environment (apps signed for debugging).
        sandbox: bool,
    },
    /// Firebase Cloud Messaging, HTTP v1.
    Fcm {
        registration_token: String,
        /// The Firebase project the token belongs to.
        project_id: String,
    },
}

/// The longest token accepted (APNs tokens are 64 hex characters today,
/// FCM tokens about 160 characters); generous so providers can grow them.
const MAX_TOKEN: usize = 4096;
const MAX_NAME: usize = 255;

/// What is wrong with the bridge a device sent, and where to find the right value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BridgeError {
    #[error("APNs device_token must be the hex string the app got from APNs")]
    ApnsDeviceToken,
    #[error("APNs topic must be the app's bundle id, e.g. com.example.app")]
    ApnsTopic,
    #[error("FCM registration_token must be the token the app got from Firebase")]
    FcmRegistrationToken,
    #[error("FCM project_id must be the Firebase project id, e.g. my-app-1234")]
    FcmProjectId,
}

impl Bridge {
    pub(crate) fn kind(&self) -> &'static str {
        self.parts().0
    }

    /// The provider's token for this install; a provider saying "gone" names it.
    pub(crate) fn token(&self) -> &str {
        match self {
            Self::Apns { device_token, .. } => device_token,
            Self::Fcm {
                registration_token, ..
            } => registration_token,
        }
    }

    /// (kind, token, scope, sandbox) as stores keep it; scope is the APNs
    /// topic or the FCM project.
    pub(crate) fn parts(&self) -> (&'static str, &str, &str, bool) {
        match self {
            Self::Apns {
                device_token,
                topic,
                sandbox,
            } => ("apns", device_token, topic, *sandbox),
            Self::Fcm {
                registration_token,
                project_id,
            } => ("fcm", registration_token, project_id, false),
        }
    }

    /// The inverse of [`Bridge::parts`]; None for a kind this pushd does not know.
    pub(crate) fn from_parts(
        kind: &str,
        token: String,
        scope: String,
        sandbox: bool,
    ) -> Option<Self> {
        match kind {
            "apns" => Some(Self::Apns {
                device_token: token,
                topic: scope,
                sandbox,
            }),
            "fcm" => Some(Self::Fcm {
                registration_token: token,
                project_id: scope,
            }),
            _ => None,
        }
    }

    /// Checks what a device sent; the error says what to fix.
    pub(crate) fn check(&self) -> Result<(), BridgeError> {
        let printable = |text: &str| text.chars().all(|c| c.is_ascii_graphic());
        match self {
            Self::Apns {
                device_token,
                topic,
                ..
            } => {
                if device_token.is_empty()
                    || device_token.len() > MAX_TOKEN
                    || !device_token.chars().all(|c| c.is_ascii_hexdigit())
                {
                    return Err(BridgeError::ApnsDeviceToken);
                }
                if topic.is_empty() || topic.len() > MAX_NAME || !printable(topic) {
                    return Err(BridgeError::ApnsTopic);
                }
            }
            Self::Fcm {
                registration_token,
                project_id,
            } => {
                if registration_token.is_empty()
                    || registration_token.len() > MAX_TOKEN
                    || !printable(registration_token)
                {
                    return Err(BridgeError::FcmRegistrationToken);
                }
                if project_id.is_empty()
                    || project_id.len() > MAX_NAME
                    || !project_id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    return Err(BridgeError::FcmProjectId);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_names_are_checked() {
        let apns = |token: &str, topic: &str| Bridge::Apns {
            device_token: token.into(),
            topic: topic.into(),
            sandbox: false,
        };
        assert!(apns("a1b2c3", "com.example.app").check().is_ok());
        assert!(apns("not hex", "com.example.app").check().is_err());
        assert!(apns("a1b2", "").check().is_err());
        let fcm = |token: &str, project: &str| Bridge::Fcm {
            registration_token: token.into(),
            project_id: project.into(),
        };
        assert!(fcm("dGVzdA:APA91b", "my-app-1234").check().is_ok());
        assert!(fcm("with space", "my-app").check().is_err());
        assert!(fcm("token", "my_app/x").check().is_err());
    }
}

/// A bridged delivery waiting in the store: wake `device_id` through its
/// bridge with message `message_id` at `due_at`. The notification is built
/// from the queued message when it is sent, so a message acked or expired
/// by then sends nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeUp {
    pub(crate) device_id: String,
    pub(crate) message_id: String,
    pub(crate) due_at: UnixMillis,
}
