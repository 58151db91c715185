//! A client's `channelID` (a UUID it picks) and our subscription id are the
//! same 16 bytes: the id is their base64url, the channel their canonical
//! lowercase hyphenated form, so each gives back the other exactly.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The subscription id for a channel, if the channel is a canonical UUID.
pub fn subscription_id(channel_id: &str) -> Option<String> {
    let uuid = uuid::Uuid::try_parse(channel_id).ok()?;
    // Only the form we give back, so the client recognises its channel.
    (uuid.hyphenated().to_string() == channel_id).then(|| URL_SAFE_NO_PAD.encode(uuid.as_bytes()))
}

/// The channel a subscription id stands for.
pub fn channel_id(subscription_id: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(subscription_id).ok()?;
    let uuid = uuid::Uuid::from_slice(&bytes).ok()?;
    Some(uuid.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_and_its_subscription_give_each_other_back() {
        let channel = "0c2bb9a6-5b7e-4a0a-9d52-1f3c8e9a7b10";
        let id = subscription_id(channel).expect("a UUID");
        assert_eq!(id.len(), 22, "the shape of every subscription id");
        assert_eq!(channel_id(&id).as_deref(), Some(channel));
        assert_eq!(
            subscription_id("0C2BB9A6-5B7E-4A0A-9D52-1F3C8E9A7B10"),
            None
        );
        assert_eq!(subscription_id("not a uuid"), None);
    }
}
