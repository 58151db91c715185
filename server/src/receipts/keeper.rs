//! The receipt keeper: once a second, receipts not yet final are looked at
//! against the queue, and once a minute what is past its keeping is purged.
//!
//! A copy no longer queued was acked, unless its message's TTL ran out
//! (expired) or its subscription or every device it went to is gone
//! (dropped). A receipt younger than [`GRACE`] is left alone: a live
//! delivery's write may still be held back waiting for its ack, and the
//! queue would look empty. Errors are logged; the next round tries again.

use std::sync::Arc;
use std::time::Duration;

use super::Receipts;
use crate::domain::{Receipt, ReceiptState, now_millis};
use crate::store::StoreResult;

const ROUND: Duration = Duration::from_secs(1);
const GRACE_MS: i64 = 2_000;
/// Receipts looked at per round, oldest first.
const PER_ROUND: usize = 1_000;
const PURGE_EVERY_ROUNDS: u32 = 60;

pub(super) fn spawn(receipts: &Arc<Receipts>) {
    let mut rounds = 0u32;
    crate::periodic::every(ROUND, Arc::downgrade(receipts), move |receipts| {
        rounds = rounds.wrapping_add(1);
        let purge = rounds.is_multiple_of(PURGE_EVERY_ROUNDS);
        async move {
            if let Err(error) = receipts.resolve_pending().await {
                tracing::warn!(%error, "receipt round failed; trying again next round");
            }
            if purge && let Err(error) = receipts.store.purge_receipts(now_millis()).await {
                tracing::warn!(%error, "purging old receipts failed");
            }
        }
    });
}

impl Receipts {
    async fn resolve_pending(&self) -> StoreResult<()> {
        for receipt in self.store.pending_receipts(PER_ROUND).await? {
            let now = now_millis();
            if now - receipt.updated_at < GRACE_MS {
                continue;
            }
            if let Some(state) = self.outcome(&receipt, now).await? {
                self.advance(&receipt.message_id, state).await?;
            }
        }
        Ok(())
    }

    /// The final state a receipt has reached, or None while a copy waits.
    async fn outcome(&self, receipt: &Receipt, now: i64) -> StoreResult<Option<ReceiptState>> {
        let store = &self.store;
        for copy in &receipt.copies {
            let ids = [copy.message_id.clone()];
            if !store.messages(&copy.device_id, &ids, now).await?.is_empty() {
                return Ok(None);
            }
        }
        if now >= receipt.expires_at {
            return Ok(Some(ReceiptState::Expired));
        }
        if store
            .subscription(&receipt.subscription_id)
            .await?
            .is_none()
        {
            return Ok(Some(ReceiptState::Dropped));
        }
        let mut any_device = false;
        for copy in &receipt.copies {
            any_device |= store.device(&copy.device_id).await?.is_some();
        }
        Ok(Some(if any_device {
            ReceiptState::Acked
        } else {
            ReceiptState::Dropped
        }))
    }
}
