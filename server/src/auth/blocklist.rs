//! The operator's block list of senders, by key and by contact, held in
//! memory for the submit path and reloaded from the store every few seconds
//! so every node of a cluster follows blocks made on any of them.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::RwLock;
use std::time::Duration;

use crate::domain::BlockOwner;
use crate::store::{Store, StoreResult};

/// How stale another node's view of a new block may be.
pub(crate) const RELOAD_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct ServiceBlocks {
    keys: RwLock<HashSet<Vec<u8>>>,
    contacts: RwLock<HashSet<String>>,
}

/// Contacts compare without case and without a trailing slash, so
/// `https://Spam.example/` and `https://spam.example` are one sender.
pub(crate) fn normalize_contact(contact: &str) -> String {
    contact.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl ServiceBlocks {
    pub(crate) fn key_blocked(&self, key: &[u8]) -> bool {
        self.keys.read().contains(key)
    }

    pub(crate) fn contact_blocked(&self, contact: &str) -> bool {
        let contacts = self.contacts.read();
        // Checked on every message: no normalising while the list is empty.
        !contacts.is_empty() && contacts.contains(&normalize_contact(contact))
    }

    /// Reads both lists from the store and replaces the ones held here.
    pub(crate) async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
        let keys = store
            .blocked_senders(&BlockOwner::ServiceKeys.key())
            .await?;
        let contacts = store
            .blocked_senders(&BlockOwner::ServiceContacts.key())
            .await?;
        *self.keys.write() = keys.into_iter().collect();
        *self.contacts.write() = contacts
            .into_iter()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
        Ok(())
    }

    /// Reloads every [`RELOAD_EVERY`] until the list is dropped.
    pub(crate) fn keep_reloading(self: &Arc<Self>, store: Arc<dyn Store>) {
        crate::periodic::every(RELOAD_EVERY, Arc::downgrade(self), move |blocks| {
            let store = store.clone();
            async move {
                if let Err(error) = blocks.reload(store.as_ref()).await {
                    tracing::warn!(%error, "reloading the sender block list failed; keeping the last one");
                }
            }
        });
    }
}
