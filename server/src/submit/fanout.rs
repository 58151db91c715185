//! One accepted message, one copy per device: a device's own subscription
//! has one recipient, an account subscription every approved member.
//!
//! Each copy has its own id, since each device acks its own queue. A copy
//! refused because that device's queue is full, or because it is receiving
//! faster than its rate, is reported, not hidden; the call fails only when no
//! device could take the message.

use tracing::Instrument as _;

use super::{Outcome, SubmitError, Submitter};
use crate::auth::MessageCopy;
use crate::domain::{QueuedMessage, SubscriptionRecord, new_message_id};
use crate::store::StoreError;

/// What became of every copy.
pub(super) struct Fanout {
    /// The copies that were kept or delivered, first one first.
    pub(crate) copies: Vec<MessageCopy>,
    pub(crate) outcome: Outcome,
    pub(crate) devices: u32,
    pub(crate) devices_full: u32,
}

impl Submitter {
    /// The devices a message to `subscription` goes to, read at send time so
    /// a removed or newly approved device counts from its very next message.
    pub(super) async fn recipients(
        &self,
        subscription: &SubscriptionRecord,
    ) -> Result<Vec<String>, SubmitError> {
        let Some(account_id) = &subscription.account_id else {
            return Ok(vec![subscription.device_id.clone()]);
        };
        let approved: Vec<String> = self
            .inner
            .store
            .account_devices(account_id)
            .await?
            .into_iter()
            .filter(|member| member.approved)
            .map(|member| member.device_id)
            .collect();
        if approved.is_empty() {
            return Err(SubmitError::Gone(
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
    ) -> Result<Fanout, SubmitError> {
        let router = &self.inner.router;
        let mut fanout = Fanout {
            copies: Vec::new(),
            outcome: Outcome::NotDelivered,
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
            // Each copy is routed on its own: its store write, forward and
            // delivery are children of this span.
            let route = tracing::info_span!(
                target: crate::tracing_export::TARGET,
                "route",
                message_id = %copy.id,
                device_id = %copy.device_id,
            );
            let outcome = if now_or_never {
                Ok(router.deliver_now_or_never(&copy).instrument(route).await)
            } else {
                router
                    .store_and_deliver(copy.clone())
                    .instrument(route)
                    .await
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(error @ StoreError::QueueFull { .. }) => {
                    fanout.devices_full += 1;
                    first_full.get_or_insert(error);
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if outcome != Outcome::NotDelivered {
                fanout.devices += 1;
            }
            fanout.copies.push(MessageCopy {
                device_id: copy.device_id,
                message_id: copy.id,
            });
            fanout.outcome = best(fanout.outcome, outcome);
        }
        if !fanout.copies.is_empty() {
            return Ok(fanout);
        }
        match (first_full, too_fast_for) {
            (Some(error), _) => Err(error.into()),
            (None, Some(wait)) => Err(SubmitError::too_fast("device", wait)),
            (None, None) => Ok(fanout),
        }
    }
}

/// Delivered beats stored beats not delivered.
fn best(a: Outcome, b: Outcome) -> Outcome {
    let rank = |outcome| match outcome {
        Outcome::Delivered => 2,
        Outcome::Stored => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}
