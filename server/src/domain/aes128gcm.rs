//! The only look the server takes at a payload: is it shaped like an RFC 8188
//! `aes128gcm` body as RFC 8291 (Web Push) uses it? The server holds no key
//! that could open it, so the header's shape is all there is to check.

/// RFC 8030 / 8291: push services must accept at least 4096 bytes; we cap there.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 4096;
/// salt (16) + record size (4) + key id length (1).
const FIXED_HEADER: usize = 21;
/// RFC 8291: the key id is the sender's ephemeral uncompressed P-256 key.
const WEBPUSH_KEY_ID: usize = 65;
/// AES-GCM tag plus at least the one padding delimiter byte.
const MIN_RECORD_OVERHEAD: usize = 17;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("payload is empty; send an aes128gcm-encrypted body (RFC 8291)")]
    Empty,
    #[error("payload is {0} bytes; the limit is {MAX_PAYLOAD_BYTES}")]
    TooLarge(usize),
    #[error("payload is {0} bytes, too short for an aes128gcm header and record (RFC 8188)")]
    TooShort(usize),
    #[error(
        "aes128gcm key id is {0} bytes; Web Push needs the 65-byte sender public key (RFC 8291)"
    )]
    BadKeyId(u8),
    #[error("aes128gcm key id is not an uncompressed P-256 point (first byte must be 0x04)")]
    KeyIdNotAPoint,
    #[error("aes128gcm record size {0} is too small (minimum 18)")]
    RecordSizeTooSmall(u32),
    #[error("aes128gcm body holds more than one record; Web Push messages are a single record")]
    MultipleRecords,
}

/// Checks the header of an `aes128gcm` body without decrypting it.
pub fn check_aes128gcm(body: &[u8]) -> Result<(), HeaderError> {
    if body.is_empty() {
        return Err(HeaderError::Empty);
    }
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(HeaderError::TooLarge(body.len()));
    }
    if body.len() < FIXED_HEADER {
        return Err(HeaderError::TooShort(body.len()));
    }
    let record_size = u32::from_be_bytes([body[16], body[17], body[18], body[19]]);
    let key_id_len = body[20];
    if usize::from(key_id_len) != WEBPUSH_KEY_ID {
        return Err(HeaderError::BadKeyId(key_id_len));
    }
    let header_len = FIXED_HEADER + WEBPUSH_KEY_ID;
    if body.len() < header_len + MIN_RECORD_OVERHEAD {
        return Err(HeaderError::TooShort(body.len()));
    }
    if body[FIXED_HEADER] != 0x04 {
        return Err(HeaderError::KeyIdNotAPoint);
    }
    if record_size < 18 {
        return Err(HeaderError::RecordSizeTooSmall(record_size));
    }
    let record_len = body.len() - header_len;
    if u64::try_from(record_len).unwrap_or(u64::MAX) > u64::from(record_size) {
        return Err(HeaderError::MultipleRecords);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(record_size: u32, key_id_len: u8, record_len: usize) -> Vec<u8> {
        let mut body = vec![7u8; 16];
        body.extend_from_slice(&record_size.to_be_bytes());
        body.push(key_id_len);
        let mut key_id = vec![0x04];
        key_id.resize(usize::from(key_id_len), 1);
        body.extend_from_slice(&key_id);
        body.resize(body.len() + record_len, 9);
        body
    }

    #[test]
    fn accepts_a_webpush_shaped_body() {
        assert_eq!(check_aes128gcm(&body(4096, 65, 40)), Ok(()));
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(check_aes128gcm(&[]), Err(HeaderError::Empty));
        assert_eq!(check_aes128gcm(&[0; 10]), Err(HeaderError::TooShort(10)));
        assert_eq!(
            check_aes128gcm(&body(4096, 0, 40)),
            Err(HeaderError::BadKeyId(0))
        );
        assert_eq!(
            check_aes128gcm(&body(4096, 65, 5)),
            Err(HeaderError::TooShort(91))
        );
        assert_eq!(
            check_aes128gcm(&body(10, 65, 40)),
            Err(HeaderError::RecordSizeTooSmall(10))
        );
        assert_eq!(
            check_aes128gcm(&body(20, 65, 40)),
            Err(HeaderError::MultipleRecords)
        );
        assert_eq!(
            check_aes128gcm(&body(4096, 65, 4100)),
            Err(HeaderError::TooLarge(4186))
        );
        let mut not_a_point = body(4096, 65, 40);
        not_a_point[21] = 0x02;
        assert_eq!(
            check_aes128gcm(&not_a_point),
            Err(HeaderError::KeyIdNotAPoint)
        );
    }
}
