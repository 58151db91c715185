//! The server's check of a submitted payload's RFC 8188 header.
#![no_main]
libfuzzer_sys::fuzz_target!(|payload: &[u8]| {
    let _ = pushd::domain::check_aes128gcm(payload);
});
