//! Endpoint tokens: the last path segment of an endpoint URL, as senders
//! see it. A token is the subscription id encrypted and authenticated
//! (AES-256-GCM) under a key only the service holds, so it is opaque, a
//! forged or altered one is refused before any store read, and two
//! subscriptions' tokens share nothing a reader could link.
//!
//! The nonce is an HMAC of the id (a synthetic IV): one subscription always
//! has the same token, and distinct ids never share a nonce.
//!
//! Layout, base64url: version (1) ‖ nonce (12) ‖ ciphertext (16) ‖ tag (16).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;

const VERSION: u8 = 1;
const ID_BYTES: usize = 16;
const NONCE: usize = 12;
const TAG: usize = 16;
const TOKEN_BYTES: usize = 1 + NONCE + ID_BYTES + TAG;
/// Length of an encoded token.
pub(crate) const TOKEN_CHARS: usize = (TOKEN_BYTES * 8).div_ceil(6);
/// The name of the master key among the service's secrets.
pub(crate) const SECRET_NAME: &str = "endpoint-token-key-v1";

/// Keys are set up once: every SubmitMessage opens a token, so nothing per
/// call may allocate or look up algorithms.
pub struct EndpointTokens {
    encryption: LessSafeKey,
    nonces: hmac::Key,
}

impl EndpointTokens {
    /// Both keys are derived from one master (the stored secret).
    pub fn new(master: &[u8]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, master);
        let derive = |label: &[u8]| hmac::sign(&master, label);
        let encryption = derive(b"pushd endpoint token encryption");
        let nonces = derive(b"pushd endpoint token nonce");
        Self {
            encryption: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, encryption.as_ref())
                    .expect("a 32-byte key is a valid AES-256 key"),
            ),
            nonces: hmac::Key::new(hmac::HMAC_SHA256, nonces.as_ref()),
        }
    }

    fn nonce_for(&self, id: &[u8]) -> [u8; NONCE] {
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&hmac::sign(&self.nonces, id).as_ref()[..NONCE]);
        nonce
    }

    /// The token for a subscription id (22-character base64url of 16 bytes).
    pub fn seal(&self, subscription_id: &str) -> Option<String> {
        let id = URL_SAFE_NO_PAD.decode(subscription_id).ok()?;
        if id.len() != ID_BYTES {
            return None;
        }
        let nonce = self.nonce_for(&id);
        let mut sealed = id;
        let tag = self
            .encryption
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                &mut sealed,
            )
            .ok()?;
        let mut token = Vec::with_capacity(TOKEN_BYTES);
        token.push(VERSION);
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&sealed);
        token.extend_from_slice(tag.as_ref());
        Some(URL_SAFE_NO_PAD.encode(token))
    }

    /// The subscription id inside a token, if this service made it unaltered.
    pub fn open(&self, token: &str) -> Option<String> {
        if token.len() != TOKEN_CHARS {
            return None;
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != TOKEN_BYTES || bytes[0] != VERSION {
            return None;
        }
        let nonce: [u8; NONCE] = bytes[1..1 + NONCE].try_into().ok()?;
        let id = self
            .encryption
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                &mut bytes[1 + NONCE..],
            )
            .ok()?
            .to_vec();
        // Only the canonical token of an id is accepted.
        if self.nonce_for(&id) != nonce {
            return None;
        }
        Some(URL_SAFE_NO_PAD.encode(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "q83vEjRWeJCrze8SNFZ4kA";

    #[test]
    fn tokens_open_only_with_their_key_and_unaltered() {
        let tokens = EndpointTokens::new(&[7; 32]);
        let token = tokens.seal(ID).expect("seal");
        assert_eq!(token.len(), TOKEN_CHARS);
        assert!(!token.contains(ID), "opaque");
        assert_eq!(tokens.seal(ID).as_deref(), Some(token.as_str()), "stable");
        assert_eq!(tokens.open(&token).as_deref(), Some(ID));
        assert_eq!(
            EndpointTokens::new(&[8; 32]).open(&token),
            None,
            "another service's key"
        );
        for index in 0..token.len() {
            let mut altered: Vec<char> = token.chars().collect();
            altered[index] = if altered[index] == 'A' { 'B' } else { 'A' };
            let altered: String = altered.into_iter().collect();
            assert_eq!(tokens.open(&altered), None, "altered at {index}");
        }
        let other = tokens.seal("AAAAAAAAAAAAAAAAAAAAAA").expect("seal");
        assert_ne!(
            other[..17],
            token[..17],
            "no shared prefix beyond the version"
        );
        assert_eq!(tokens.open(""), None);
        assert_eq!(tokens.open(&"A".repeat(TOKEN_CHARS)), None);
        assert_eq!(tokens.seal("not an id"), None);
    }
}
