//! The one base64 dialect Web Push speaks: URL-safe alphabet, no padding (RFC 8291 §3.2,
//! RFC 8292 §3). Decoding also accepts trailing `=` because some libraries emit it.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
}
