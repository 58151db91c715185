//! The push SDK for mobile apps, exported with UniFFI: one [`PushManager`]
//! per app install, holding the device's keys in a local SQLite file.
//!
//! Apps address subscriptions by *scope* (a site origin, a feature name):
//! `subscribe(scope)` returns the endpoint and keys to hand to the sender;
//! messages come back tagged with their scope, whether they arrived on the
//! stream (`listen`), through a mobile bridge (`decrypt`), or were fetched
//! after a wake-up (`fetch_pending`). Calls block the calling thread (call
//! them off the UI thread); the listener runs on the SDK's own threads.
#![forbid(unsafe_code)]

mod account;
mod error;
mod listener;
mod manager;
mod types;

pub use error::PushError;
pub use listener::{ListenerHandle, PushListener};
pub use manager::{IdentityProvider, PushManager};
pub use types::{
    AccountDevice, AccountSync, BridgeKind, DecryptedMessage, Presence, SubscriptionInfo,
};

uniffi::setup_scaffolding!();
