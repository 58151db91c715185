//! Identifiers. Device ids, subscription tokens and secrets are random and
//! unguessable (128+ bits); message ids are UUIDv7 so they sort by time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Length of a base64url-encoded 16-byte random id.
const TOKEN_LEN: usize = 22;

fn random_b64(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    // The OS CSPRNG: tokens are bearer capabilities and must not be predictable.
    openssl::rand::rand_bytes(&mut buffer).expect("the OS random number generator failed");
    URL_SAFE_NO_PAD.encode(buffer)
}

pub fn new_device_id() -> String {
    random_b64(16)
}

/// Accounts are named by a random token too: knowing one lets a device ask
/// to join, never to get in without an approved member's approval.
pub(crate) fn new_account_id() -> String {
    random_b64(16)
}

/// The opaque token that ends a subscription's endpoint URL.
pub fn new_subscription_id() -> String {
    random_b64(16)
}

/// The secret half of a device credential.
pub(crate) fn new_secret() -> String {
    random_b64(32)
}

pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// True for strings shaped like the ids [`new_device_id`] and [`new_subscription_id`] make.
pub(crate) fn is_token(candidate: &str) -> bool {
    candidate.len() == TOKEN_LEN
        && candidate
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

pub(crate) fn is_message_id(candidate: &str) -> bool {
    candidate.len() == 36 && uuid::Uuid::try_parse(candidate).is_ok()
}

/// Most message ids one ack (frame or call) or fetch may name; bigger lists
/// are refused, not truncated.
pub(crate) const MAX_MESSAGE_IDS: usize = 1024;

/// Checks message ids a device sent: at least one, at most
/// [`MAX_MESSAGE_IDS`], every one shaped like a message id.
pub fn check_message_ids(ids: &[String]) -> Result<(), MessageIdsError> {
    if ids.is_empty() {
        return Err(MessageIdsError::Empty);
    }
    if ids.len() > MAX_MESSAGE_IDS {
        return Err(MessageIdsError::TooMany(ids.len()));
    }
    match ids.iter().find(|id| !is_message_id(id)) {
        Some(bad) => {
            let shown = bad
                .char_indices()
                .nth(40)
                .map_or(bad.as_str(), |(end, _)| &bad[..end]);
            Err(MessageIdsError::NotAMessageId(shown.to_owned()))
        }
        None => Ok(()),
    }
}

/// Why a list of message ids was refused; nothing in it was acted on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageIdsError {
    #[error("no message ids given")]
    Empty,
    #[error("{0} message ids; send at most {MAX_MESSAGE_IDS} at once")]
    TooMany(usize),
    /// Holds the id's first 40 characters at most.
    #[error("{0:?} is not a message id; nothing was done")]
    NotAMessageId(String),
}
