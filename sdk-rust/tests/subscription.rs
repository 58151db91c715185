//! Parsing the W3C PushSubscription JSON, including the errors a person will see.
// Helpers outside #[test] functions too: here a panic is a failed test.
#![allow(clippy::unwrap_used)]
use push_sdk::crypto;
use push_sdk::subscription::{SubscriptionError, SubscriptionInfo};

fn valid() -> (SubscriptionInfo, crypto::SubscriptionKeys) {
    let keys = crypto::generate_subscription_keys().unwrap();
    let info = SubscriptionInfo::new(
        "https://push.example.net/p/tok",
        keys.public_key(),
        keys.auth_secret(),
    );
    (info, keys)
}

#[test]
fn round_trips_through_json() {
    let (info, keys) = valid();
    let json = info.to_json();
    assert!(!json.contains('\n'));
    let parsed = SubscriptionInfo::from_json(&json).unwrap();
    assert_eq!(parsed, info);
    assert_eq!(parsed.p256dh_bytes().unwrap(), keys.public_key());
    assert_eq!(parsed.auth_bytes().unwrap(), keys.auth_secret());
}

#[test]
fn reports_what_is_wrong() {
    let (info, _) = valid();
    let with = |p256dh: &str, auth: &str, endpoint: &str| {
        format!(r#"{{"endpoint":"{endpoint}","keys":{{"p256dh":"{p256dh}","auth":"{auth}"}}}}"#)
    };
    let (p, a, e) = (
        info.keys.p256dh.as_str(),
        info.keys.auth.as_str(),
        info.endpoint.as_str(),
    );

    let err = SubscriptionInfo::from_json("{not json").unwrap_err();
    assert!(matches!(err, SubscriptionError::Json(_)));
    assert!(err.to_string().contains("not valid JSON"));
    assert!(matches!(
        SubscriptionInfo::from_json(r#"{"endpoint":"https://x"}"#),
        Err(SubscriptionError::Json(_))
    ));

    let err = SubscriptionInfo::from_json(&with("!!!", a, e)).unwrap_err();
    assert!(
        matches!(
            err,
            SubscriptionError::BadBase64 {
                field: "p256dh",
                ..
            }
        ),
        "{err}"
    );
    let err = SubscriptionInfo::from_json(&with(p, "AAAAAAAAAAAAAA", e)).unwrap_err();
    assert!(
        matches!(
            err,
            SubscriptionError::WrongKeyLength {
                field: "auth",
                expected: 16,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("keys.auth"));
    let err = SubscriptionInfo::from_json(&with(p, a, "not a url")).unwrap_err();
    assert!(matches!(err, SubscriptionError::BadEndpoint { .. }));
    // 65 bytes but not a point on the curve.
    let bogus_point = format!("BA{}", &"A".repeat(85));
    let err = SubscriptionInfo::from_json(&with(&bogus_point, a, e)).unwrap_err();
    assert!(
        matches!(
            err,
            SubscriptionError::BadPublicKey(_) | SubscriptionError::WrongKeyLength { .. }
        ),
        "{err}"
    );
}

#[test]
fn accepts_padded_base64() {
    let (info, _) = valid();
    let padded = format!(
        r#"{{"endpoint":"{}","keys":{{"p256dh":"{}=","auth":"{}=="}}}}"#,
        info.endpoint, info.keys.p256dh, info.keys.auth
    );
    let parsed = SubscriptionInfo::from_json(&padded).unwrap();
    assert_eq!(parsed.auth_bytes().unwrap(), info.auth_bytes().unwrap());
}
