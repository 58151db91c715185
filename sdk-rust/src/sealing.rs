//! Account subscription keys in transit between one user's devices.
//!
//! A bundle is one subscription (its id, endpoint and private keys) as JSON, encrypted with
//! RFC 8291 `aes128gcm` to the recipient device's own key, exactly as a push message is
//! encrypted to a subscription. The server stores and relays the ciphertext; without the
//! recipient's device private key, which never leaves it, nobody can open it.
//!
//! The server also hands out the device keys, so a dishonest server could offer its own key
//! as a "new device". That is what approval is for: the user compares [`fingerprint`] on both
//! screens before approving.
use serde::{Deserialize, Serialize};

use crate::crypto::{self, CryptoError, SubscriptionKeys};
use crate::store::StoredSubscription;
use crate::{SdkError, b64};

/// Bundle format version; a newer one is refused rather than misread.
const VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Bundle {
    v: u8,
    id: String,
    endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_server_key: Option<String>,
    /// [`SubscriptionKeys::to_bytes`], base64url.
    keys: String,
    created_at_unix_ms: i64,
    /// The app's name for the subscription on the sealing device, so the app on the
    /// receiving device knows what it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// What an opened bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub subscription: StoredSubscription,
    pub scope: Option<String>,
}

/// Seals `subscription` to the device whose key is `public_key` / `auth_secret`.
pub fn seal(
    subscription: &StoredSubscription,
    scope: Option<&str>,
    public_key: &[u8],
    auth_secret: &[u8],
) -> Result<Vec<u8>, SdkError> {
    let bundle = Bundle {
        v: VERSION,
        id: subscription.id.clone(),
        endpoint: subscription.endpoint.clone(),
        app_server_key: subscription.app_server_key.as_deref().map(b64::encode),
        keys: b64::encode(&subscription.keys.to_bytes()),
        created_at_unix_ms: subscription.created_at_unix_ms,
        scope: scope.map(str::to_owned),
    };
    let json = serde_json::to_vec(&bundle)
        .map_err(|error| SdkError::Protocol(format!("encoding a key bundle: {error}")))?;
    Ok(crypto::encrypt(public_key, auth_secret, &json)?)
}

/// Opens a bundle sealed to `device_key`, checking that it carries `subscription_id` (the
/// server says which subscription a bundle is for; the sealed content must agree).
pub fn open(
    device_key: &SubscriptionKeys,
    sealed: &[u8],
    subscription_id: &str,
) -> Result<Opened, SdkError> {
    let json = crypto::decrypt(device_key, sealed)?;
    let bundle: Bundle = serde_json::from_slice(&json).map_err(|error| {
        SdkError::Protocol(format!("key bundle is not the expected JSON: {error}"))
    })?;
    if bundle.v != VERSION {
        return Err(SdkError::Protocol(format!(
            "key bundle version {} is not supported (this SDK reads {VERSION})",
            bundle.v
        )));
    }
    if bundle.id != subscription_id {
        return Err(SdkError::Protocol(format!(
            "key bundle for {:?} was delivered as {subscription_id:?}",
            bundle.id
        )));
    }
    let bad_base64 =
        |field: &str| SdkError::Protocol(format!("key bundle {field} is not base64url"));
    let keys = b64::decode(&bundle.keys).map_err(|_| bad_base64("keys"))?;
    let app_server_key = bundle
        .app_server_key
        .map(|key| b64::decode(&key).map_err(|_| bad_base64("app_server_key")))
        .transpose()?;
    let subscription = StoredSubscription {
        id: bundle.id,
        endpoint: bundle.endpoint,
        app_server_key,
        keys: SubscriptionKeys::from_bytes(&keys)?,
        created_at_unix_ms: bundle.created_at_unix_ms,
        for_account: true,
    };
    Ok(Opened {
        subscription,
        scope: bundle.scope,
    })
}

/// A short, human-comparable digest of a device's public key: the first 10 bytes of its
/// SHA-256 in five groups of four hex digits, e.g. `3fa1 09bc 77d2 e041 5a6f`.
pub fn fingerprint(public_key: &[u8]) -> Result<String, CryptoError> {
    crypto::validate_public_key(public_key)?;
    let digest = openssl::sha::sha256(public_key);
    let groups: Vec<String> = digest[..10]
        .chunks(2)
        .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
        .collect();
    Ok(groups.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription() -> StoredSubscription {
        StoredSubscription {
            id: "sub-1".into(),
            endpoint: "https://push.example/p/sub-1".into(),
            app_server_key: Some(vec![4; 65]),
            keys: crypto::generate_subscription_keys().unwrap(),
            created_at_unix_ms: 42,
            for_account: true,
        }
    }

    #[test]
    fn a_sealed_bundle_opens_only_with_its_device_key() {
        let (device, stranger) = (
            crypto::generate_subscription_keys().unwrap(),
            crypto::generate_subscription_keys().unwrap(),
        );
        let original = subscription();
        let sealed = seal(
            &original,
            Some("news"),
            device.public_key(),
            device.auth_secret(),
        )
        .unwrap();
        let private = original.keys.private_key();
        assert!(
            !sealed
                .windows(private.len())
                .any(|window| window == private),
            "the private key is not in the ciphertext"
        );
        let opened = open(&device, &sealed, "sub-1").unwrap();
        assert_eq!(opened.subscription, original);
        assert_eq!(opened.scope.as_deref(), Some("news"));
        assert!(open(&stranger, &sealed, "sub-1").is_err());
        assert!(
            open(&device, &sealed, "sub-2").is_err(),
            "a bundle relabelled by the server is refused"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&device, &tampered, "sub-1").is_err());
    }

    #[test]
    fn fingerprints_are_short_and_differ() {
        let (a, b) = (
            crypto::generate_subscription_keys().unwrap(),
            crypto::generate_subscription_keys().unwrap(),
        );
        let fingerprint_a = fingerprint(a.public_key()).unwrap();
        assert_eq!(fingerprint_a.len(), 24);
        assert_eq!(fingerprint_a, fingerprint(a.public_key()).unwrap());
        assert_ne!(fingerprint_a, fingerprint(b.public_key()).unwrap());
        assert!(fingerprint(&[4; 10]).is_err());
    }
}
