//! The token at the end of an endpoint URL, which anyone may send.
#![no_main]
use std::sync::LazyLock;

use pushd::auth::EndpointTokens;

static TOKENS: LazyLock<EndpointTokens> = LazyLock::new(|| EndpointTokens::new(&[7; 32]));

libfuzzer_sys::fuzz_target!(|token: &str| {
    if let Some(id) = TOKENS.open(token) {
        // Whatever opens must be the canonical token of what it holds.
        assert_eq!(TOKENS.seal(&id).as_deref(), Some(token));
    }
    let _ = pushd::device::origin_of(token);
});
