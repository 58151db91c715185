//! Cancelling a write against its ack inside one batch.
//!
//! A live device often acks a message while the message's insert is still
//! queued for the next group commit. When both land in the same batch,
//! neither needs to touch the database: the insert is answered "already
//! acked" and the id leaves the ack's delete list. This is the common case
//! at high rates, and it halves the writer's work for live traffic.

use std::collections::HashMap;

use super::op::WriteOp;

/// Marks each untopical insert whose ack follows it in `batch`.
pub(crate) fn coalesce(batch: &mut [WriteOp]) {
    if batch.len() < 2 {
        return;
    }
    // (device, message id) of inserts seen so far, by their index in the batch.
    let mut inserts: HashMap<(String, String), usize> = HashMap::new();
    let mut cancelled = Vec::new();
    for (index, op) in batch.iter_mut().enumerate() {
        match op {
            // A topical insert also replaces an older message; it must run.
            WriteOp::Enqueue { message, .. } if message.topic.is_none() => {
                inserts.insert((message.device_id.clone(), message.id.clone()), index);
            }
            WriteOp::Ack {
                device_id,
                message_ids,
                removed_in_batch,
                ..
            } if !inserts.is_empty() => {
                message_ids.retain(|message_id| {
                    match inserts.remove(&(device_id.clone(), message_id.clone())) {
                        Some(insert) => {
                            cancelled.push(insert);
                            metrics::counter!("pushd_store_writes_skipped_total").increment(1);
                            *removed_in_batch += 1;
                            false
                        }
                        None => true,
                    }
                });
            }
            _ => {}
        }
    }
    for index in cancelled {
        if let Some(WriteOp::Enqueue { acked_in_batch, .. }) = batch.get_mut(index) {
            *acked_in_batch = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;
    use crate::domain::{QueuedMessage, Urgency};
    use crate::store::Admission;

    fn insert(device_id: &str, id: &str, topic: Option<&str>) -> WriteOp {
        let message = QueuedMessage {
            id: id.into(),
            device_id: device_id.into(),
            subscription_id: "s".into(),
            topic: topic.map(Into::into),
            urgency: Urgency::Normal,
            payload: vec![1],
            received_at: 0,
            expires_at: 1,
        };
        WriteOp::Enqueue {
            message,
            admission: Admission::DeliveredLive,
            acked_in_batch: false,
            reply: oneshot::channel().0,
        }
    }

    fn ack(device_id: &str, ids: &[&str]) -> WriteOp {
        let message_ids = ids.iter().map(ToString::to_string).collect();
        WriteOp::Ack {
            device_id: device_id.into(),
            message_ids,
            removed_in_batch: 0,
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn an_ack_after_its_insert_cancels_both() {
        let mut batch = vec![
            insert("d", "m1", None),
            insert("d", "m2", None),
            insert("d", "m3", Some("t")),
            ack("d", &["m1", "m3", "m9"]),
        ];
        coalesce(&mut batch);
        let cancelled: Vec<bool> = batch[..3]
            .iter()
            .map(|op| {
                matches!(
                    op,
                    WriteOp::Enqueue {
                        acked_in_batch: true,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(
            cancelled,
            [true, false, false],
            "only the untopical acked insert is cancelled"
        );
        let WriteOp::Ack {
            message_ids,
            removed_in_batch,
            ..
        } = &batch[3]
        else {
            panic!("ack moved")
        };
        assert_eq!(
            (message_ids.clone(), *removed_in_batch),
            (vec!["m3".to_string(), "m9".to_string()], 1)
        );
    }

    #[test]
    fn acks_of_other_devices_or_before_the_insert_do_not_cancel() {
        let mut batch = vec![
            ack("d", &["m1"]),
            insert("d", "m1", None),
            ack("other", &["m1"]),
        ];
        coalesce(&mut batch);
        assert!(matches!(
            batch[1],
            WriteOp::Enqueue {
                acked_in_batch: false,
                ..
            }
        ));
    }
}
