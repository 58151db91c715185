//! RFC 8030 §7.3-style cancel: a sender deletes a message it sent that no
//! device has acked yet. Removing each copy from its device's queue is the
//! same operation as the device's own ack, so a copy whose write is still
//! held back (a live delivery waiting for its ack) is skipped the same way,
//! and a low-urgency copy waiting for its bridge finds nothing to send.
//! A receipt, if the sender kept one, says cancelled. Reading a receipt by
//! its handle is here too: the same handle, the same key check.

use super::{SubmitError, Submitter};
use crate::auth::{OpenedHandle, VerifiedSender};
use crate::domain::{Receipt, ReceiptState};

impl Submitter {
    /// Cancels the copies the handle names that are still queued; answers
    /// how many were. None left is [`SubmitError::UnknownMessage`].
    pub(crate) async fn cancel(
        &self,
        sender: &VerifiedSender,
        handle: &str,
    ) -> Result<u64, SubmitError> {
        let opened = self.opened_by(sender, handle)?;
        let mut cancelled = 0;
        for copy in &opened.copies {
            let ids = [copy.message_id.clone()];
            cancelled += self.inner.store.ack(&copy.device_id, &ids).await?;
        }
        if cancelled == 0 {
            return Err(SubmitError::UnknownMessage);
        }
        metrics::counter!("pushd_messages_cancelled_total").increment(cancelled);
        if let Some(first) = opened.copies.first() {
            self.inner
                .receipts
                .advance(&first.message_id, ReceiptState::Cancelled)
                .await?;
        }
        Ok(cancelled)
    }

    /// The receipt of the message a handle names, for the key that sent it.
    pub(crate) async fn receipt(
        &self,
        sender: &VerifiedSender,
        handle: &str,
    ) -> Result<Receipt, SubmitError> {
        let opened = self.opened_by(sender, handle)?;
        let first = opened.copies.first().ok_or(SubmitError::UnknownMessage)?;
        self.inner
            .receipts
            .get(&sender.public_key, &first.message_id)
            .await?
            .ok_or(SubmitError::NoReceipt)
    }

    /// What a handle names, if this service made it and `sender` sent it.
    fn opened_by(
        &self,
        sender: &VerifiedSender,
        handle: &str,
    ) -> Result<OpenedHandle, SubmitError> {
        let opened = self
            .inner
            .handles
            .open(handle)
            .ok_or(SubmitError::UnknownMessage)?;
        if !opened.sent_by(&sender.public_key) {
            return Err(SubmitError::NotYourMessage);
        }
        Ok(opened)
    }

    /// The receipts service, for the fronts that stream events.
    pub(crate) fn receipts(&self) -> &std::sync::Arc<crate::receipts::Receipts> {
        &self.inner.receipts
    }
}
