//! The W3C PushSubscription JSON a sender is handed (pushctl send, the SDK's Sender).
#![no_main]
use push_sdk::subscription::SubscriptionInfo;

libfuzzer_sys::fuzz_target!(|json: &str| {
    if let Ok(info) = SubscriptionInfo::from_json(json)
        && info.validate().is_ok()
    {
        let _ = (info.p256dh_bytes(), info.auth_bytes());
        let again = SubscriptionInfo::from_json(&info.to_json()).expect("round trip");
        assert_eq!(again.endpoint, info.endpoint);
    }
});
