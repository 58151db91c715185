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

/// The opaque token that ends a subscription's endpoint URL.
pub fn new_subscription_id() -> String {
    random_b64(16)
}

/// The secret half of a device credential.
pub fn new_secret() -> String {
    random_b64(32)
}

pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// True for strings shaped like the ids [`new_device_id`] and [`new_subscription_id`] make.
pub fn is_token(candidate: &str) -> bool {
    candidate.len() == TOKEN_LEN
        && candidate
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

pub fn is_message_id(candidate: &str) -> bool {
    candidate.len() == 36 && uuid::Uuid::try_parse(candidate).is_ok()
}
