//! VAPID tokens: signature verifiable by openssl, the claims we promised, PEM round trips.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use push_sdk::vapid::{self, VapidKey};

fn b64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// Verifies an ES256 JWT against a raw public point the way a push service would.
fn verify(jwt: &str, public_key_raw: &[u8]) -> bool {
    let (signing_input, signature) = jwt.rsplit_once('.').expect("three segments");
    let signature = b64(signature);
    assert_eq!(signature.len(), 64, "ES256 signatures are raw r||s");
    let sig = EcdsaSig::from_private_components(
        BigNum::from_slice(&signature[..32]).unwrap(),
        BigNum::from_slice(&signature[32..]).unwrap(),
    )
    .unwrap();
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let mut ctx = BigNumContext::new().unwrap();
    let point = EcPoint::from_bytes(&group, public_key_raw, &mut ctx).unwrap();
    let key = EcKey::from_public_key(&group, &point).unwrap();
    let digest = openssl::sha::sha256(signing_input.as_bytes());
    sig.verify(&digest, &key).unwrap()
}

#[test]
fn jwt_verifies_and_carries_claims() {
    let key = VapidKey::generate().unwrap();
    // Many signatures so that short r or s (needing left padding) show up at least sometimes.
    for _ in 0..64 {
        let jwt = key
            .sign(
                "https://push.example.net",
                "mailto:ops@example.com",
                1_900_000_000,
            )
            .unwrap();
        assert!(verify(&jwt, &key.public_key_raw()), "signature must verify");
    }
    let jwt = key
        .sign(
            "https://push.example.net",
            "mailto:ops@example.com",
            1_900_000_000,
        )
        .unwrap();
    let segments: Vec<&str> = jwt.split('.').collect();
    assert_eq!(segments.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&b64(segments[0])).unwrap();
    assert_eq!(header, serde_json::json!({"typ": "JWT", "alg": "ES256"}));
    let claims: serde_json::Value = serde_json::from_slice(&b64(segments[1])).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({"aud": "https://push.example.net", "exp": 1_900_000_000u64, "sub": "mailto:ops@example.com"})
    );
    let other = VapidKey::generate().unwrap();
    assert!(!verify(&jwt, &other.public_key_raw()));
}

#[test]
fn pem_round_trip_and_header() {
    let key = VapidKey::generate().unwrap();
    let pem = key.to_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let again = VapidKey::from_pem(&pem).unwrap();
    assert_eq!(again.public_key_raw(), key.public_key_raw());
    assert_eq!(key.public_key_raw().len(), 65);
    assert_eq!(b64(&key.public_key_b64()), key.public_key_raw());
    assert_eq!(
        key.authorization_header("a.b.c"),
        format!("vapid t=a.b.c, k={}", key.public_key_b64())
    );
    assert!(VapidKey::from_pem("not a pem").is_err());
    let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
    let p384_pem = String::from_utf8(p384.private_key_to_pem().unwrap()).unwrap();
    assert!(VapidKey::from_pem(&p384_pem).is_err());
}

#[test]
fn audience_is_the_origin() {
    assert_eq!(
        vapid::audience_for("https://push.example.net/wpush/v1/abc").unwrap(),
        "https://push.example.net"
    );
    assert_eq!(
        vapid::audience_for("http://127.0.0.1:8070/p/tok?x=1").unwrap(),
        "http://127.0.0.1:8070"
    );
    assert_eq!(
        vapid::audience_for("https://Push.Example.net:443/x").unwrap(),
        "https://push.example.net"
    );
    assert!(vapid::audience_for("opaque-token").is_err());
    assert!(vapid::audience_for("mailto:x@example.com").is_err());
}
