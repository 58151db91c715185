//! The protocol's JSON messages: what a client may send, read strictly
//! enough to answer each mistake, and what pushd sends back.

use serde::Deserialize;
use serde_json::{Value, json};

/// One message from the client.
#[derive(Debug, PartialEq)]
pub enum ClientMessage {
    Hello {
        uaid: Option<String>,
    },
    Register {
        channel_id: String,
        key: Option<String>,
    },
    Unregister {
        channel_id: String,
    },
    /// The message ids (versions) acked; every code (delivered, decrypt
    /// error, not delivered) is final.
    Ack {
        versions: Vec<String>,
    },
    Nack,
    BroadcastSubscribe,
    Ping,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    message_type: Option<String>,
    uaid: Option<String>,
    #[serde(rename = "channelID")]
    channel_id: Option<String>,
    key: Option<String>,
    updates: Option<Vec<Update>>,
}

#[derive(Deserialize)]
struct Update {
    version: String,
}

/// Why a client's frame was refused; sent back as the close reason.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("malformed message: {0}")]
    Malformed(serde_json::Error),
    #[error("channelID is required")]
    MissingChannel,
    #[error("unknown messageType {0:?}")]
    UnknownType(String),
    #[error("messageType is required")]
    MissingType,
    #[error("messages are JSON text")]
    Binary,
}

/// Reads one text frame; the error says what was wrong.
pub fn parse(text: &str) -> Result<ClientMessage, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(FrameError::NotJson)?;
    if value.as_object().is_some_and(serde_json::Map::is_empty) {
        return Ok(ClientMessage::Ping);
    }
    let fields: Fields = serde_json::from_value(value).map_err(FrameError::Malformed)?;
    let channel = |fields: &Fields| fields.channel_id.clone().ok_or(FrameError::MissingChannel);
    match fields.message_type.as_deref() {
        Some("hello") => Ok(ClientMessage::Hello {
            uaid: fields.uaid.filter(|uaid| !uaid.is_empty()),
        }),
        Some("register") => Ok(ClientMessage::Register {
            channel_id: channel(&fields)?,
            key: fields.key,
        }),
        Some("unregister") => Ok(ClientMessage::Unregister {
            channel_id: channel(&fields)?,
        }),
        Some("ack") => Ok(ClientMessage::Ack {
            versions: fields
                .updates
                .unwrap_or_default()
                .into_iter()
                .map(|update| update.version)
                .collect(),
        }),
        Some("nack") => Ok(ClientMessage::Nack),
        Some("broadcast_subscribe") => Ok(ClientMessage::BroadcastSubscribe),
        Some(other) => Err(FrameError::UnknownType(other.to_owned())),
        None => Err(FrameError::MissingType),
    }
}

pub(crate) fn hello(uaid: &str) -> String {
    json!({"messageType": "hello", "uaid": uaid, "status": 200, "use_webpush": true, "broadcasts": {}})
        .to_string()
}

pub(crate) fn registered(channel_id: &str, status: u16, endpoint: Option<&str>) -> String {
    let mut reply = json!({"messageType": "register", "channelID": channel_id, "status": status});
    if let Some(endpoint) = endpoint {
        reply["pushEndpoint"] = json!(endpoint);
    }
    reply.to_string()
}

pub(crate) fn unregistered(channel_id: &str, status: u16) -> String {
    json!({"messageType": "unregister", "channelID": channel_id, "status": status}).to_string()
}

/// A message for the client; `data` is the aes128gcm body, base64url.
pub(crate) fn notification(channel_id: &str, version: &str, ttl: i64, data: &str) -> String {
    json!({
        "messageType": "notification",
        "channelID": channel_id,
        "version": version,
        "ttl": ttl,
        "data": data,
        // Without it Firefox fires the push event without data.
        "headers": {"encoding": "aes128gcm"},
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_message_is_read_and_mistakes_are_named() {
        assert_eq!(parse("{}").unwrap(), ClientMessage::Ping);
        assert_eq!(
            parse(r#"{"messageType":"hello","uaid":"","use_webpush":true}"#).unwrap(),
            ClientMessage::Hello { uaid: None }
        );
        assert_eq!(
            parse(
                r#"{"messageType":"ack","updates":[{"channelID":"c","version":"v","code":100}]}"#
            )
            .unwrap(),
            ClientMessage::Ack {
                versions: vec!["v".into()]
            }
        );
        assert!(parse("[").unwrap_err().to_string().contains("not JSON"));
        assert!(
            parse(r#"{"messageType":"bogus"}"#)
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
        assert!(
            parse(r#"{"messageType":"register"}"#)
                .unwrap_err()
                .to_string()
                .contains("channelID")
        );
        assert!(
            parse(r#"{"uaid":"x"}"#)
                .unwrap_err()
                .to_string()
                .contains("messageType")
        );
    }
}
