//! RFC 8291 encryption: the RFC's own example, round trips, and clean failures.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_sdk::crypto::{self, CryptoError, SubscriptionKeys};

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("test vector is base64url")
}

/// RFC 8291 Appendix A: the user agent's keys and the message the application server sent.
mod rfc8291 {
    pub const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    pub const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    pub const AUTH_SECRET: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    pub const MESSAGE: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
    pub const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
}

fn rfc_keys() -> SubscriptionKeys {
    SubscriptionKeys::from_parts(
        &b64(rfc8291::UA_PRIVATE),
        &b64(rfc8291::UA_PUBLIC),
        &b64(rfc8291::AUTH_SECRET),
    )
    .expect("RFC keys are a valid pair")
}

#[test]
fn decrypts_rfc8291_appendix_a() {
    let plaintext = crypto::decrypt(&rfc_keys(), &b64(rfc8291::MESSAGE)).expect("decrypts");
    assert_eq!(plaintext, rfc8291::PLAINTEXT.as_bytes());
}

#[test]
fn round_trip_with_generated_keys() {
    let keys = crypto::generate_subscription_keys().unwrap();
    assert_eq!(keys.public_key().len(), 65);
    assert_eq!(keys.auth_secret().len(), 16);
    let body = crypto::encrypt(keys.public_key(), keys.auth_secret(), b"hello device").unwrap();
    assert!(body.len() <= 4096);
    assert_eq!(crypto::decrypt(&keys, &body).unwrap(), b"hello device");
}

#[test]
fn largest_plaintext_fits_one_4096_byte_body() {
    let keys = crypto::generate_subscription_keys().unwrap();
    let plaintext = vec![b'x'; crypto::MAX_PLAINTEXT_LEN];
    let body = crypto::encrypt(keys.public_key(), keys.auth_secret(), &plaintext).unwrap();
    assert!(body.len() <= 4096, "body is {} bytes", body.len());
    assert_eq!(crypto::decrypt(&keys, &body).unwrap(), plaintext);
    let too_long = vec![b'x'; crypto::MAX_PLAINTEXT_LEN + 1];
    let err = crypto::encrypt(keys.public_key(), keys.auth_secret(), &too_long).unwrap_err();
    assert!(matches!(err, CryptoError::PlaintextTooLong(_)));
}

#[test]
fn wrong_keys_fail_cleanly() {
    let keys = crypto::generate_subscription_keys().unwrap();
    let other = crypto::generate_subscription_keys().unwrap();
    let body = crypto::encrypt(keys.public_key(), keys.auth_secret(), b"secret").unwrap();
    assert!(matches!(
        crypto::decrypt(&other, &body),
        Err(CryptoError::Decrypt(_))
    ));
    // Right key pair, wrong auth secret.
    let wrong_auth =
        SubscriptionKeys::from_parts(keys.private_key(), keys.public_key(), &[7; 16]).unwrap();
    assert!(crypto::decrypt(&wrong_auth, &body).is_err());
}

#[test]
fn malformed_bodies_fail_cleanly() {
    let keys = rfc_keys();
    let message = b64(rfc8291::MESSAGE);
    for body in [&[][..], &message[..10], &message[..message.len() - 1]] {
        assert!(crypto::decrypt(&keys, body).is_err());
    }
    let mut tampered = message.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(crypto::decrypt(&keys, &tampered).is_err());
}

#[test]
fn bad_inputs_to_encrypt_are_rejected() {
    let keys = crypto::generate_subscription_keys().unwrap();
    assert!(matches!(
        crypto::encrypt(&keys.public_key()[..64], keys.auth_secret(), b"x"),
        Err(CryptoError::InvalidPublicKey(_))
    ));
    let mut off_curve = keys.public_key().to_vec();
    off_curve[64] ^= 1;
    assert!(crypto::encrypt(&off_curve, keys.auth_secret(), b"x").is_err());
    assert!(matches!(
        crypto::encrypt(keys.public_key(), &[0; 15], b"x"),
        Err(CryptoError::InvalidAuthSecret(15))
    ));
    assert!(matches!(
        crypto::encrypt(keys.public_key(), keys.auth_secret(), b""),
        Err(CryptoError::EmptyPlaintext)
    ));
}

#[test]
fn keys_persist_through_bytes() {
    let keys = crypto::generate_subscription_keys().unwrap();
    let bytes = keys.to_bytes();
    assert_eq!(bytes.len(), crypto::SERIALIZED_KEYS_LEN);
    assert_eq!(SubscriptionKeys::from_bytes(&bytes).unwrap(), keys);
    assert!(SubscriptionKeys::from_bytes(&bytes[1..]).is_err());
    // A public key that is not the private key's must be refused.
    let other = crypto::generate_subscription_keys().unwrap();
    let mut mixed = bytes.clone();
    mixed[32..97].copy_from_slice(other.public_key());
    assert!(SubscriptionKeys::from_bytes(&mixed).is_err());
    assert!(!format!("{keys:?}").contains(&format!("{:?}", keys.private_key())));
}
