//! A device's stream frame as the server decodes and checks it.
#![no_main]
use prost::Message as _;
use push_proto::v1::{ClientFrame, client_frame::Frame};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Ok(frame) = ClientFrame::decode(bytes) else {
        return;
    };
    match frame.frame {
        Some(Frame::Ack(ack)) => {
            let _ = pushd::domain::check_message_ids(&ack.message_ids);
        }
        Some(Frame::Hello(hello)) => {
            let _ = pushd::domain::Urgency::from_i32(hello.min_urgency);
        }
        Some(Frame::Presence(presence)) => {
            let _ = pushd::domain::Presence::from_i32(presence.presence);
        }
        Some(Frame::MinUrgency(urgency)) => {
            let _ = pushd::domain::Urgency::from_i32(urgency.min_urgency);
        }
        None => {}
    }
});
