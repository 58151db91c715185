//! A sealed key bundle as a device opens it: the server relays these, so a
//! device must survive anything in them.
#![no_main]
use std::sync::LazyLock;

use push_sdk::crypto::{SubscriptionKeys, generate_subscription_keys};

static DEVICE_KEY: LazyLock<SubscriptionKeys> =
    LazyLock::new(|| generate_subscription_keys().expect("keys"));

libfuzzer_sys::fuzz_target!(|sealed: &[u8]| {
    let _ = push_sdk::sealing::open(&DEVICE_KEY, sealed, "AAAAAAAAAAAAAAAAAAAAAA");
});
