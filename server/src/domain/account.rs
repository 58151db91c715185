//! Accounts: one user's devices, and the sealed key bundles that carry an
//! account subscription's keys from one of them to another.
//!
//! The server sees only public device keys and ciphertext. What it decides is
//! who is a member: a device joins pending, and only an approved member can
//! approve it, so a stolen account id alone gets nothing.

use super::UnixMillis;

/// Longest device name, in characters.
pub(crate) const MAX_DEVICE_NAME_CHARS: usize = 64;
/// Largest sealed bundle: one aes128gcm record, like a push message.
pub(crate) const MAX_SEALED_BYTES: usize = 4096;

/// A device's membership in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDevice {
    pub(crate) account_id: String,
    pub(crate) device_id: String,
    pub(crate) name: String,
    /// Uncompressed P-256 point the device's keys are sealed to.
    pub(crate) public_key: Vec<u8>,
    /// RFC 8291 auth secret that goes with `public_key`.
    pub(crate) auth_secret: Vec<u8>,
    /// Pending members get no account messages and no sealed keys.
    pub(crate) approved: bool,
    pub(crate) added_at: UnixMillis,
}

/// One account subscription's keys, sealed by `sender_device_id` to
/// `recipient_device_id`'s device key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKeys {
    pub(crate) recipient_device_id: String,
    pub(crate) subscription_id: String,
    pub(crate) sender_device_id: String,
    /// aes128gcm ciphertext, never opened here.
    pub(crate) sealed: Vec<u8>,
    pub(crate) created_at: UnixMillis,
}

/// Why a device name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DeviceNameError {
    #[error("device_name is required, e.g. \"Pixel 9\" or \"Work laptop\"")]
    Missing,
    #[error("device_name is {0} characters; at most {MAX_DEVICE_NAME_CHARS}")]
    TooLong(usize),
    #[error("device_name must not contain control characters")]
    ControlCharacter,
}

/// Checks a device name: printable, non-empty, not too long.
pub(crate) fn check_device_name(name: &str) -> Result<(), DeviceNameError> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return Err(DeviceNameError::Missing);
    }
    if chars > MAX_DEVICE_NAME_CHARS {
        return Err(DeviceNameError::TooLong(chars));
    }
    if name.chars().any(char::is_control) {
        return Err(DeviceNameError::ControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert!(check_device_name("Pixel 9").is_ok());
        assert!(check_device_name("Téléphone de Zoé").is_ok());
        assert!(check_device_name("  ").is_err());
        assert!(check_device_name("a\nb").is_err());
        assert!(check_device_name(&"x".repeat(65)).is_err());
        assert!(check_device_name(&"é".repeat(64)).is_ok());
    }
}
