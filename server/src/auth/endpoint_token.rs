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
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

const VERSION: u8 = 1;
const ID_BYTES: usize = 16;
const NONCE: usize = 12;
const TAG: usize = 16;
const TOKEN_BYTES: usize = 1 + NONCE + ID_BYTES + TAG;
/// Length of an encoded token.
pub const TOKEN_CHARS: usize = (TOKEN_BYTES * 8).div_ceil(6);
/// The name of the master key among the service's secrets.
pub const SECRET_NAME: &str = "endpoint-token-key-v1";

pub struct EndpointTokens {
    encryption: [u8; 32],
    nonces: [u8; 32],
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let computed = PKey::hmac(key)
        .and_then(|key| {
            let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
            signer.update(data)?;
            signer.sign_to_vec()
        })
        .unwrap_or_default();
    let len = computed.len().min(32);
    out[..len].copy_from_slice(&computed[..len]);
    out
}

impl EndpointTokens {
    /// Both keys are derived from one 32-byte master (the stored secret).
    pub fn new(master: &[u8]) -> Self {
        Self {
            encryption: hmac(master, b"pushd endpoint token encryption"),
            nonces: hmac(master, b"pushd endpoint token nonce"),
        }
    }

    /// The token for a subscription id (22-character base64url of 16 bytes).
    pub fn seal(&self, subscription_id: &str) -> Option<String> {
        let id = URL_SAFE_NO_PAD.decode(subscription_id).ok()?;
        if id.len() != ID_BYTES {
            return None;
        }
        let nonce = &hmac(&self.nonces, &id)[..NONCE];
        let mut tag = [0u8; TAG];
        let sealed = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.encryption,
            Some(nonce),
            &[VERSION],
            &id,
            &mut tag,
        )
        .ok()?;
        let mut token = Vec::with_capacity(TOKEN_BYTES);
        token.push(VERSION);
        token.extend_from_slice(nonce);
        token.extend_from_slice(&sealed);
        token.extend_from_slice(&tag);
        Some(URL_SAFE_NO_PAD.encode(token))
    }

    /// The subscription id inside a token, if this service made it unaltered.
    pub fn open(&self, token: &str) -> Option<String> {
        if token.len() != TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != TOKEN_BYTES || bytes[0] != VERSION {
            return None;
        }
        let (nonce, rest) = bytes[1..].split_at(NONCE);
        let (sealed, tag) = rest.split_at(ID_BYTES);
        let id = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.encryption,
            Some(nonce),
            &[VERSION],
            sealed,
            tag,
        )
        .ok()?;
        // Only the canonical token of an id is accepted.
        if hmac(&self.nonces, &id)[..NONCE] != *nonce {
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
