//! The operations the writer thread applies, each carrying its caller's reply.

use tokio::sync::oneshot;

use super::accounts::AccountChange;
use super::bridges::BridgeChange;
use super::receipts::ReceiptChange;
use super::wake_ups::WakeUpChange;
use crate::domain::{
    DeviceRecord, QueuedMessage, ReceiptEvent, SubscriptionRecord, UnixMillis, WakeUp,
};
use crate::store::{Admission, Enqueued, StoreError, StoreResult};

pub(crate) type Reply<T> = oneshot::Sender<StoreResult<T>>;

pub(crate) enum WriteOp {
    CreateDevice(DeviceRecord, Reply<()>),
    CreateSubscription(SubscriptionRecord, Reply<()>),
    DeleteSubscription {
        device_id: String,
        subscription_id: String,
        reply: Reply<bool>,
    },
    Enqueue {
        message: QueuedMessage,
        admission: Admission,
        /// Set by [`coalesce`]: an ack later in the same batch cancels this write.
        acked_in_batch: bool,
        reply: Reply<Enqueued>,
    },
    Ack {
        device_id: String,
        message_ids: Vec<String>,
        /// Ids [`coalesce`] matched to inserts in the same batch and took out.
        removed_in_batch: u64,
        reply: Reply<u64>,
    },
    PurgeExpired {
        now: UnixMillis,
        reply: Reply<u64>,
    },
    Bridge {
        device_id: String,
        change: BridgeChange,
        reply: Reply<bool>,
    },
    Account {
        change: AccountChange,
        reply: Reply<bool>,
    },
    Receipt {
        change: ReceiptChange,
        reply: Reply<Option<ReceiptEvent>>,
    },
    PurgeReceipts {
        now: UnixMillis,
        reply: Reply<u64>,
    },
    WakeUps {
        change: WakeUpChange,
        reply: Reply<Vec<WakeUp>>,
    },
    Close(oneshot::Sender<()>),
}

pub(crate) fn closed() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}
