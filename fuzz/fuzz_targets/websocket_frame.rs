//! A WebSocket push protocol message as the server reads it, and the
//! channel id it would turn into a subscription id and back.
#![no_main]
use pushd::websocket::{channel, frames};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match frames::parse(text) {
        Ok(frames::ClientMessage::Register { channel_id, .. })
        | Ok(frames::ClientMessage::Unregister { channel_id }) => {
            if let Some(id) = channel::subscription_id(&channel_id) {
                // A channel the server accepts must come back as itself.
                assert_eq!(channel::channel_id(&id).as_deref(), Some(channel_id.as_str()));
            }
        }
        _ => {}
    }
});
