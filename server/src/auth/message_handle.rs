//! Message handles: the last path segment of a message's `Location`
//! (`<public url>/m/<handle>`, RFC 8030 §5). A handle names every copy of
//! one submitted message (an account subscription fans out to several
//! devices) and the sender key that may act on it, sealed with AES-256-GCM
//! under a key derived from the endpoint token master, so every node can
//! open it without a store read and nobody can forge or enumerate one.
//!
//! Plaintext: key hash (8) ‖ per copy: device id length (1) ‖ device id ‖
//! message id (16, the UUID's bytes). Sealed: version (1) ‖ nonce (12) ‖
//! ciphertext ‖ tag (16), base64url.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{digest, hmac, rand::SecureRandom as _};

const VERSION: u8 = 1;
const NONCE: usize = 12;
const KEY_HASH: usize = 8;
/// Longer handles are refused before any work: 64 copies of the longest id.
pub(crate) const MAX_HANDLE_CHARS: usize = 4096;

/// One delivered copy: which device's queue, which id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageCopy {
    pub(crate) device_id: String,
    pub(crate) message_id: String,
}

/// What an opened handle says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenedHandle {
    /// The first bytes of SHA-256 of the sender's public key.
    key_hash: [u8; KEY_HASH],
    pub(crate) copies: Vec<MessageCopy>,
}

impl OpenedHandle {
    /// True if `public_key` is the key the message was sent with.
    pub(crate) fn sent_by(&self, public_key: &[u8]) -> bool {
        key_hash(public_key) == self.key_hash
    }
}

pub(crate) struct MessageHandles {
    key: LessSafeKey,
    random: ring::rand::SystemRandom,
}

fn key_hash(public_key: &[u8]) -> [u8; KEY_HASH] {
    let mut hash = [0u8; KEY_HASH];
    hash.copy_from_slice(&digest::digest(&digest::SHA256, public_key).as_ref()[..KEY_HASH]);
    hash
}

impl MessageHandles {
    /// Derived from the endpoint token master, under a label of its own.
    pub(crate) fn new(master: &[u8]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, master);
        let derived = hmac::sign(&master, b"pushd message handle encryption");
        Self {
            key: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, derived.as_ref())
                    .expect("a 32-byte key is a valid AES-256 key"),
            ),
            random: ring::rand::SystemRandom::new(),
        }
    }

    /// The handle for `copies` sent with `public_key`; `None` for ids this
    /// service does not make (never for its own).
    pub(crate) fn seal(&self, public_key: &[u8], copies: &[MessageCopy]) -> Option<String> {
        let mut plain = key_hash(public_key).to_vec();
        for copy in copies {
            let device = copy.device_id.as_bytes();
            plain.push(u8::try_from(device.len()).ok()?);
            plain.extend_from_slice(device);
            plain.extend_from_slice(uuid::Uuid::try_parse(&copy.message_id).ok()?.as_bytes());
        }
        let mut nonce = [0u8; NONCE];
        self.random.fill(&mut nonce).ok()?;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                &mut plain,
            )
            .ok()?;
        let mut sealed = Vec::with_capacity(1 + NONCE + plain.len() + tag.as_ref().len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&plain);
        sealed.extend_from_slice(tag.as_ref());
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// What a handle names, if this service made it unaltered.
    pub(crate) fn open(&self, handle: &str) -> Option<OpenedHandle> {
        if handle.len() > MAX_HANDLE_CHARS {
            return None;
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(handle).ok()?;
        if bytes.len() < 1 + NONCE + KEY_HASH + 16 || bytes[0] != VERSION {
            return None;
        }
        let nonce: [u8; NONCE] = bytes[1..1 + NONCE].try_into().ok()?;
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                &mut bytes[1 + NONCE..],
            )
            .ok()?;
        let (hash, mut rest) = plain.split_at(KEY_HASH);
        let mut copies = Vec::new();
        while let Some((&length, after)) = rest.split_first() {
            let length = usize::from(length);
            if after.len() < length + 16 {
                return None;
            }
            let device_id = String::from_utf8(after[..length].to_vec()).ok()?;
            let uuid = uuid::Uuid::from_slice(&after[length..length + 16]).ok()?;
            copies.push(MessageCopy {
                device_id,
                message_id: uuid.hyphenated().to_string(),
            });
            rest = &after[length + 16..];
        }
        Some(OpenedHandle {
            key_hash: hash.try_into().ok()?,
            copies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copies() -> Vec<MessageCopy> {
        ["q83vEjRWeJCrze8SNFZ4kA", "AAAAAAAAAAAAAAAAAAAAAA"]
            .iter()
            .map(|device| MessageCopy {
                device_id: (*device).to_owned(),
                message_id: crate::domain::new_message_id(),
            })
            .collect()
    }

    #[test]
    fn handles_open_only_unaltered_and_name_their_sender() {
        let handles = MessageHandles::new(&[7; 32]);
        let copies = copies();
        let handle = handles.seal(b"sender key", &copies).expect("seal");
        let opened = handles.open(&handle).expect("opens");
        assert_eq!(opened.copies, copies);
        assert!(opened.sent_by(b"sender key"));
        assert!(!opened.sent_by(b"another key"));
        assert_eq!(MessageHandles::new(&[8; 32]).open(&handle), None);
        for index in 0..handle.len() {
            let mut altered: Vec<char> = handle.chars().collect();
            altered[index] = if altered[index] == 'A' { 'B' } else { 'A' };
            let altered: String = altered.into_iter().collect();
            assert_eq!(handles.open(&altered), None, "altered at {index}");
        }
        assert_eq!(handles.open(""), None);
        assert_eq!(handles.open(&"A".repeat(MAX_HANDLE_CHARS + 1)), None);
        assert_eq!(
            handles.seal(
                b"k",
                &[MessageCopy {
                    device_id: "d".into(),
                    message_id: "not a uuid".into()
                }]
            ),
            None
        );
    }
}
