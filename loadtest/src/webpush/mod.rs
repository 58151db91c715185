//! `--devices-over webpush`: a run that speaks nothing but the ecosystem's standard protocols,
//! so the same load drives any push service that Firefox and web-push libraries can use
//! (pushd, Mozilla's autopush-rs) and the figures compare.
//!
//! - Devices ([`device`], over [`socket`]): each its own WebSocket; `hello` without a `uaid`
//!   (the service assigns one), one `register` whose `key` restricts the channel to the
//!   worker's VAPID key, its own P-256 key pair and auth secret as a browser makes them,
//!   every notification acked.
//! - Senders: RFC 8030 `POST` to each `pushEndpoint` ([`crate::submit_http`]) with `TTL`,
//!   `Content-Encoding: aes128gcm` and `Authorization: vapid t=…, k=…` for the endpoint's
//!   origin; only `201` counts as accepted, and the id is the `Location`'s last segment.
//! - [`drain`]: a device goes away, messages are posted, it comes back with its `uaid` and
//!   `channelIDs`; what arrived, twice, or not at all is counted, never assumed.
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use push_sdk::vapid::VapidKey;
use tonic::metadata::AsciiMetadataValue;

use crate::client;

pub mod device;
pub mod drain;
pub mod socket;
mod tally;

/// The application server of a run: one VAPID key, which every channel is restricted to.
pub struct SenderKey {
    key: VapidKey,
}

impl SenderKey {
    pub fn generate() -> anyhow::Result<Self> {
        let key = VapidKey::generate()?;
        Ok(SenderKey { key })
    }

    /// The `key` a `register` carries: base64url with padding, the form Firefox sends
    /// ("the Push server requires padding", its push client says).
    pub fn register_key(&self) -> String {
        URL_SAFE.encode(self.key.public_key_raw())
    }

    /// The `Authorization` value for endpoints at `endpoint`'s origin (the JWT's `aud`).
    pub fn authorization(&self, endpoint: &str) -> anyhow::Result<AsciiMetadataValue> {
        client::signed_authorization(&self.key, endpoint)
    }
}
