//! Delivery receipts: what became of a message a sender asked to follow.
//!
//! A receipt is named by the message id the sender was given (the first
//! copy's) and belongs to the sender key that sent it (a hash of it, so a
//! store read never holds the key itself). Its state only moves forward:
//! accepted → delivered (handed to a live stream) → acked (the device took
//! it; shown). Expired, cancelled and dropped (its subscription or device was
//! removed) end it too. Each change is an event in the sender key's log,
//! which `WatchReceipts` reads from a cursor.

use super::UnixMillis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReceiptState {
    Accepted = 0,
    Delivered = 1,
    Acked = 2,
    Expired = 3,
    Cancelled = 4,
    Dropped = 5,
}

impl ReceiptState {
    pub(crate) fn is_final(self) -> bool {
        self >= ReceiptState::Acked
    }

    /// True if a receipt in `self` may move to `next`: forward only, and
    /// nothing after a final state.
    pub(crate) fn may_become(self, next: ReceiptState) -> bool {
        !self.is_final() && next > self
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            ReceiptState::Accepted => "accepted",
            ReceiptState::Delivered => "delivered",
            ReceiptState::Acked => "acked",
            ReceiptState::Expired => "expired",
            ReceiptState::Cancelled => "cancelled",
            ReceiptState::Dropped => "dropped",
        }
    }

    pub(crate) fn from_i32(value: i32) -> Option<Self> {
        Some(match value {
            0 => ReceiptState::Accepted,
            1 => ReceiptState::Delivered,
            2 => ReceiptState::Acked,
            3 => ReceiptState::Expired,
            4 => ReceiptState::Cancelled,
            5 => ReceiptState::Dropped,
            _ => return None,
        })
    }
}

/// One device's copy of the message: where to look for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceiptCopy {
    pub(crate) device_id: String,
    pub(crate) message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The id the sender was given: the first copy's.
    pub(crate) message_id: String,
    /// The first 16 bytes of SHA-256 of the sender's public key.
    pub(crate) key_hash: Vec<u8>,
    pub(crate) subscription_id: String,
    pub(crate) copies: Vec<ReceiptCopy>,
    pub(crate) state: ReceiptState,
    pub(crate) updated_at: UnixMillis,
    /// When the message itself expires.
    pub(crate) expires_at: UnixMillis,
}

/// One state change in a sender key's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEvent {
    /// Orders the log (a UUIDv7); a watcher resumes after the last it saw.
    pub(crate) cursor: String,
    pub(crate) message_id: String,
    pub(crate) state: ReceiptState,
    pub(crate) at: UnixMillis,
}

/// The hash receipts are filed under for a sender key.
pub(crate) fn receipt_key_hash(public_key: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, public_key).as_ref()[..16].to_vec()
}

/// Copies as one text value ("device message,device message"), for stores.
pub(crate) fn copies_to_text(copies: &[ReceiptCopy]) -> String {
    copies
        .iter()
        .map(|copy| format!("{} {}", copy.device_id, copy.message_id))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn copies_from_text(text: &str) -> Vec<ReceiptCopy> {
    text.split(',')
        .filter_map(|pair| pair.split_once(' '))
        .map(|(device_id, message_id)| ReceiptCopy {
            device_id: device_id.to_owned(),
            message_id: message_id.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_forward_only() {
        use ReceiptState::*;
        assert!(Accepted.may_become(Delivered));
        assert!(Delivered.may_become(Acked));
        assert!(Accepted.may_become(Expired));
        assert!(!Delivered.may_become(Accepted));
        assert!(!Acked.may_become(Expired));
        assert!(!Cancelled.may_become(Dropped));
        for value in 0..6 {
            let state = ReceiptState::from_i32(value).expect("state");
            assert_eq!(state as i32, value);
        }
        assert_eq!(ReceiptState::from_i32(6), None);
    }

    #[test]
    fn copies_survive_their_text_form() {
        let copies = vec![
            ReceiptCopy {
                device_id: "q83vEjRWeJCrze8SNFZ4kA".into(),
                message_id: "01a22f03-f7c4-726d-8978-1337bb15b24c".into(),
            },
            ReceiptCopy {
                device_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
                message_id: "01a22f03-f7c4-726d-8978-1337bb15b24d".into(),
            },
        ];
        assert_eq!(copies_from_text(&copies_to_text(&copies)), copies);
    }
}
