//! The verifier end to end: real tokens signed by the SDK, checked, cached
//! by what they sign and not how they are spelled.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::EcGroup;
use openssl::nid::Nid;
use push_sdk::vapid::VapidKey;

use super::*;

const AUDIENCE: &str = "http://127.0.0.1:8070";
const NOW: u64 = 1_800_000_000;

fn signed(key: &VapidKey, subject: &str, exp: u64) -> String {
    key.sign(AUDIENCE, subject, exp).expect("sign")
}

/// `token` with its signature's s replaced by `s(old_s)`.
fn with_s(token: &str, s: impl Fn(&BigNum, &BigNum) -> BigNum) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signing_input, signature) = token.rsplit_once('.').expect("jwt");
    let raw = b64.decode(signature).expect("base64url");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    let mut order = BigNum::new().expect("bn");
    group
        .order(&mut order, &mut BigNumContext::new().expect("ctx"))
        .expect("order");
    let new_s = s(&order, &BigNum::from_slice(&raw[32..]).expect("s"));
    let mut out = raw[..32].to_vec();
    out.extend(new_s.to_vec_padded(32).expect("pad"));
    format!("{signing_input}.{}", b64.encode(out))
}

fn negated_s(order: &BigNum, s: &BigNum) -> BigNum {
    let mut negated = BigNum::new().expect("bn");
    negated.checked_sub(order, s).expect("n - s");
    negated
}

#[test]
fn a_token_is_verified_once_and_still_expires_from_the_cache() {
    let key = VapidKey::generate().expect("key");
    let header = key.authorization_header(&signed(&key, "mailto:ops@example.com", NOW + 3600));
    let verifier = VapidVerifier::new(AUDIENCE, 1 << 20);
    let first = verifier.verify(Some(&header), NOW).expect("valid token");
    assert_eq!(first.public_key, key.public_key_raw());
    assert_eq!(
        verifier.cache_usage().entries,
        1,
        "verified tokens are cached"
    );
    assert_eq!(verifier.verify(Some(&header), NOW + 600), Ok(first));
    let expired = verifier.verify(Some(&header), NOW + 3600 + CLOCK_SKEW_SECS);
    assert!(
        matches!(expired, Err(VapidError::Expired { .. })),
        "{expired:?}"
    );
    assert_eq!(
        verifier.cache_usage().entries,
        0,
        "an expired entry is dropped"
    );
}

#[test]
fn spellings_of_one_token_share_one_entry_and_forgeries_do_not() {
    let key = VapidKey::generate().expect("key");
    let jwt = signed(&key, "mailto:ops@example.com", NOW + 3600);
    let k = key.public_key_b64();
    let verifier = VapidVerifier::new(AUDIENCE, 1 << 20);
    let twin = with_s(&jwt, negated_s);
    for spelling in [
        format!("vapid t={jwt}, k={k}"),
        format!("vapid k={k},t={jwt}"),
        format!("Vapid  t={jwt} , k={k}="),
        format!("vapid t={twin}, k={k}"),
    ] {
        let sender = verifier.verify(Some(&spelling), NOW).expect("accepted");
        assert_eq!(sender.public_key, key.public_key_raw(), "{spelling}");
    }
    assert_eq!(verifier.cache_usage().entries, 1);
    // Same signed content, a signature nobody made: the cache does not
    // vouch for it, ECDSA refuses it, and the real entry stays.
    let forged = with_s(&jwt, |_, s| {
        let mut plus_one = BigNum::new().expect("bn");
        plus_one
            .checked_add(s, &BigNum::from_u32(1).expect("one"))
            .expect("add");
        plus_one
    });
    let refused = verifier.verify(Some(&format!("vapid t={forged}, k={k}")), NOW);
    assert!(
        matches!(refused, Err(VapidError::Invalid(_))),
        "{refused:?}"
    );
    // Another key presenting the same content is its own question.
    let other = VapidKey::generate().expect("key");
    let stolen = format!("vapid t={jwt}, k={}", other.public_key_b64());
    assert!(verifier.verify(Some(&stolen), NOW).is_err());
    assert_eq!(verifier.cache_usage().entries, 1);
}

#[test]
fn many_distinct_tokens_stay_within_the_byte_budget() {
    let key = VapidKey::generate().expect("key");
    let budget = 4096;
    let verifier = VapidVerifier::new(AUDIENCE, budget);
    for n in 0..40 {
        let subject = format!("https://example.com/{}", "x".repeat(n * 10));
        let header = key.authorization_header(&signed(&key, &subject, NOW + 3600 + n as u64));
        verifier.verify(Some(&header), NOW).expect("valid");
        let usage = verifier.cache_usage();
        assert!(usage.bytes <= budget, "after {n}: {usage:?}");
    }
    let usage = verifier.cache_usage();
    assert!(usage.entries > 0 && usage.entries < 40, "{usage:?}");
}

#[test]
fn oversized_and_unknown_parameters_are_refused_with_the_reason() {
    let key = VapidKey::generate().expect("key");
    let verifier = VapidVerifier::new(AUDIENCE, 1 << 20);
    let long = format!("https://example.com/{}", "x".repeat(3000));
    let header = key.authorization_header(&signed(&key, &long, NOW + 3600));
    let refused = verifier.verify(Some(&header), NOW).expect_err("too large");
    let message = refused.to_string();
    assert!(
        message.contains(&header.len().to_string()) && message.contains("2048"),
        "{message}"
    );
    let plain = key.authorization_header(&signed(&key, "mailto:a@b.c", NOW + 3600));
    let padded = verifier.verify(Some(&format!("{plain}, x=1")), NOW);
    assert!(
        matches!(padded, Err(VapidError::Malformed(_))),
        "{padded:?}"
    );
    assert_eq!(verifier.cache_usage().entries, 0);
}

#[test]
fn the_subject_must_be_a_contact() {
    for contact in [
        "mailto:ops@example.com",
        "mailto:loadtest@localhost",
        "https://example.com",
        "https://example.com/contact",
    ] {
        assert!(is_contact(contact), "{contact}");
    }
    for not_one in [
        "https:",
        "https://",
        "https:///path",
        "mailto:",
        "mailto:@example.com",
        "mailto:ops@",
        "mailto:ops",
        "http://example.com",
        "",
    ] {
        assert!(!is_contact(not_one), "{not_one}");
    }
    let key = VapidKey::generate().expect("key");
    let verifier = VapidVerifier::new(AUDIENCE, 1 << 20);
    let jwt = signed(&key, "https:", NOW + 3600);
    let refused = verifier.verify(Some(&key.authorization_header(&jwt)), NOW);
    assert!(
        matches!(&refused, Err(VapidError::Invalid(reason)) if reason.contains("contact")),
        "{refused:?}"
    );
}

#[test]
fn missing_and_garbage_are_refused() {
    let verifier = VapidVerifier::new(AUDIENCE, 1 << 20);
    assert_eq!(verifier.verify(None, 0), Err(VapidError::Missing));
    assert!(matches!(
        verifier.verify(Some("vapid t=x.y.z, k=AAAA"), 0),
        Err(VapidError::Invalid(_) | VapidError::Malformed(_))
    ));
}
