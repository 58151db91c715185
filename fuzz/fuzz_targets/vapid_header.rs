//! The `authorization: vapid t=<JWT>, k=<key>` header every SubmitMessage carries,
//! parsed and verified (JWT split, base64, JSON claims, P-256 key, ECDSA).
#![no_main]
use std::sync::LazyLock;

use pushd::auth::VapidVerifier;

static VERIFIER: LazyLock<VapidVerifier> =
    LazyLock::new(|| VapidVerifier::new("https://push.example", 1 << 20));

libfuzzer_sys::fuzz_target!(|header: &str| {
    let _ = VERIFIER.verify(Some(header), 1_800_000_000);
});
