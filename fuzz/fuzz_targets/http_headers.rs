//! The RFC 8030 front's header reading: TTL, Urgency, Topic and
//! Content-Encoding as a sender's HTTP request carries them, and the VAPID
//! `Authorization` the same request brings. The input is split at 0x00 into
//! those five values (fewer parts: the rest are absent).
#![no_main]
libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let mut parts = input.split(|byte| *byte == 0);
    let (ttl, urgency, topic, encoding, authorization) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    let _ = pushd::http::headers::read_push_headers(ttl, urgency, topic);
    let _ = pushd::http::headers::check_content_encoding(encoding);
    if let Some(authorization) = authorization.and_then(|value| std::str::from_utf8(value).ok()) {
        let verifier = pushd::auth::VapidVerifier::new("http://127.0.0.1:8070", 1 << 20);
        let _ = verifier.verify(Some(authorization), 1_800_000_000);
    }
});
