//! Rust SDK for `pushd`.
//!
//! - [`crypto`]: RFC 8291 message encryption and the device's subscription keys.
//! - [`vapid`]: RFC 8292 application-server keys and the JWTs that identify a sender.
//! - [`sealing`]: account subscription keys sealed from one of a user's devices to another.
//! - [`subscription`]: the W3C `PushSubscription` JSON a site backend stores.
//! - [`Sender`]: what a site backend uses to submit messages.
//! - [`DeviceClient`]: what a device uses to register, subscribe and listen, with its keys in a
//!   local [`store::KeyStore`].
//!
//! The `pushctl` binary is a thin shell over `cli`, which only the `cli` feature (on by
//! default) builds: the library alone links no argument parser or log subscriber.
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod crypto;
pub mod http_sender;
pub mod sealing;
pub mod store;
pub mod subscription;
pub mod vapid;

mod b64;
mod channel;
mod device;
mod error;
mod notification;
mod sender;
mod token_cache;

pub use device::{
    AccountMember, AccountSync, ApprovedSender, DeviceClient, ListenEnd, ListenHandle,
    ListenOptions, MobileBridge, Senders, TokenSource,
};
pub use error::{IdentityTokenError, SdkError};
pub use notification::Notification;
/// The generated `push.v1` types callers need for options and receipts.
pub use push_proto::v1::{Outcome, Presence, Urgency};
pub use sender::{SendOptions, SendReceipt, Sender};
