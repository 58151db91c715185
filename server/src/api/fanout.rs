//! One accepted message, one copy per device: a device's own subscription
//! has one recipient, an account subscription every approved member.
//!
//! Each copy has its own id, since each device acks its own queue. A copy
//! refused because that device's queue is full, or because it is receiving
//! faster than its rate, is reported, not hidden; the call fails only when no
//! device could take the message.

use push_proto::v1 as pb;
use tonic::Status;

use super::rate::too_fast;
use super::{PushApi, status};
use crate::domain::{QueuedMessage, SubscriptionRecord, new_message_id};
use crate::store::StoreError;

/// What became of every copy.
pub(super) struct Fanout {
    pub first_id: String,
    pub outcome: pb::Outcome,
    pub devices: u32,
    pub devices_full: u32,
}

impl PushApi {
    /// The devices a message to `subscription` goes to, read at send time so
    /// a removed or newly approved device counts from its very next message.
    pub(super) async fn recipients(
        &self,
        subscription: &SubscriptionRecord,
    ) -> Result<Vec<String>, Status> {
        let Some(account_id) = &subscription.account_id else {
            return Ok(vec![subscription.device_id.clone()]);
        };
        let approved: Vec<String> = self
            .members(account_id)
            .await?
            .into_iter()
            .filter(|member| member.approved)
            .map(|member| member.device_id)
            .collect();
        if approved.is_empty() {
            return Err(Status::not_found(
                "no such subscription: its account has no devices left; stop sending to it",
            ));
        }
        Ok(approved)
    }

    /// Delivers or stores one copy of `template` per device.
    pub(super) async fn fan_out(
        &self,
        template: QueuedMessage,
        devices: Vec<String>,
        now_or_never: bool,
    ) -> Result<Fanout, Status> {
        let mut fanout = Fanout {
            first_id: String::new(),
            outcome: pb::Outcome::NotDelivered,
            devices: 0,
            devices_full: 0,
        };
        let mut first_full = None;
        let mut too_fast_for = None;
        for device_id in devices {
            // A device taking messages too fast is skipped like a full one.
            if let Err(wait) = self.inner.rates.device(&device_id) {
                fanout.devices_full += 1;
                too_fast_for.get_or_insert(wait);
                continue;
            }
            let copy = QueuedMessage {
                id: new_message_id(),
                device_id,
                ..template.clone()
            };
            let outcome = if now_or_never {
                Ok(self.deliver_now_or_never(&copy).await)
            } else {
                self.store_and_deliver(copy.clone()).await
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(error @ StoreError::QueueFull { .. }) => {
                    fanout.devices_full += 1;
                    first_full.get_or_insert(error);
                    continue;
                }
                Err(error) => return Err(status::from_store(error)),
            };
            if fanout.first_id.is_empty() {
                fanout.first_id = copy.id;
            }
            if outcome != pb::Outcome::NotDelivered {
                fanout.devices += 1;
            }
            fanout.outcome = best(fanout.outcome, outcome);
        }
        if !fanout.first_id.is_empty() {
            return Ok(fanout);
        }
        match (first_full, too_fast_for) {
            (Some(error), _) => Err(status::from_store(error)),
            (None, Some(wait)) => Err(too_fast("device", wait)),
            (None, None) => Ok(fanout),
        }
    }
}

/// Delivered beats stored beats not delivered.
fn best(a: pb::Outcome, b: pb::Outcome) -> pb::Outcome {
    let rank = |outcome| match outcome {
        pb::Outcome::Delivered => 2,
        pb::Outcome::Stored => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}
