//! The VAPID token cache behind `SubmitMessage`: header parsing, the cache
//! key (key + signed content), insert, lookup and LRU eviction, driven by
//! sequences of real tokens, respellings of them and arbitrary headers.
//! Checks that nothing panics, that the cache's bytes never pass its
//! budget, that an accepted header always yields the sender its own key
//! and claims say (a lookup never answers with another's entry), and that
//! a forged signature over cached content is refused.
#![no_main]
use std::sync::LazyLock;

use push_sdk::vapid::VapidKey;
use pushd::auth::{VapidVerifier, VerifiedSender};

const AUDIENCE: &str = "https://push.example";
const BASE: u64 = 1_800_000_000;
/// A few entries' worth, so eviction runs all the time.
const BUDGET: usize = 2048;

static KEYS: LazyLock<Vec<VapidKey>> =
    LazyLock::new(|| (0..3).map(|_| VapidKey::generate().expect("key")).collect());
static VERIFIER: LazyLock<VapidVerifier> = LazyLock::new(|| VapidVerifier::new(AUDIENCE, BUDGET));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut data = data;
    while let [op, key, subject_len, exp_minutes, rest @ ..] = data {
        data = rest;
        let key = &KEYS[usize::from(*key) % KEYS.len()];
        let subject = format!(
            "https://example.com/{}",
            "x".repeat(usize::from(*subject_len))
        );
        let exp = BASE + 60 * u64::from(*exp_minutes);
        let now = BASE + 3600 * u64::from((op >> 4) % 4);
        let jwt = key.sign(AUDIENCE, &subject, exp).expect("sign");
        let k = key.public_key_b64();
        let mut extra = || {
            let (&len, rest) = data.split_first().unwrap_or((&0, &[]));
            let len = usize::from(len).min(rest.len());
            data = &rest[len..];
            String::from_utf8_lossy(&rest[..len]).into_owned()
        };
        let (header, must_hold) = match op % 6 {
            0 => (format!("vapid t={jwt}, k={k}"), true),
            1 => (format!("VAPID k={k},t={jwt}"), true),
            2 => (format!("vapid t={jwt}, k={k}="), true),
            // The signature's last character changed: a forgery.
            3 => {
                let last = if jwt.ends_with('A') { 'Q' } else { 'A' };
                (
                    format!("vapid t={}{last}, k={k}", &jwt[..jwt.len() - 1]),
                    false,
                )
            }
            4 => (format!("vapid t={jwt}, k={k}{}", extra()), false),
            _ => (extra(), false),
        };
        let expected = VerifiedSender {
            public_key: key.public_key_raw(),
            subject,
            expires_at: exp,
        };
        match VERIFIER.verify(Some(&header), now) {
            // Cached content does not vouch for a signature nobody made.
            Ok(_) if op % 6 == 3 => panic!("a forged signature was accepted: {header}"),
            Ok(sender) if op % 6 != 5 => assert_eq!(sender, expected, "{header}"),
            Ok(_) => {}
            Err(error) => assert!(
                !(must_hold && exp + 60 > now),
                "a valid header was refused: {error}: {header}"
            ),
        }
        let usage = VERIFIER.cache_usage();
        assert!(usage.bytes <= BUDGET, "{usage:?}");
    }
});
