//! Connection slots: the node's `max_connections`, each address's share of
//! them (`max_connections_per_ip`), and its rate of new ones
//! (`connection_rate_per_ip`). A slot is held by the connection and given
//! back when the connection is dropped, however it ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits::{AddressRate, Rate};

pub(crate) enum Refusal {
    /// The address opened too many connections in the last seconds.
    Rate,
    /// The address holds its share of open connections.
    PerIp,
}

pub(crate) struct Slots {
    free: Arc<Semaphore>,
    per_ip: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
    rate: Arc<AddressRate>,
}

/// One open connection's claim; dropping it frees the slot.
pub(crate) struct ConnectionSlot {
    _permit: OwnedSemaphorePermit,
    ip: IpAddr,
    open: Option<Arc<Mutex<HashMap<IpAddr, u32>>>>,
}

impl Slots {
    pub(crate) fn new(max_connections: u32, per_ip: u32, per_second: u32) -> Self {
        let rate = AddressRate::new(Rate {
            per_second,
            burst: per_second.saturating_mul(5),
        });
        Self {
            free: Arc::new(Semaphore::new(max_connections.max(1) as usize)),
            per_ip,
            open: Arc::default(),
            rate,
        }
    }

    /// Waits for a free slot: taken before `accept`, so a full node leaves
    /// new connections in the kernel's queue rather than taking and closing them.
    pub(crate) async fn free(&self) -> OwnedSemaphorePermit {
        self.free
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }

    /// Binds a free slot to the connection from `ip`, if the address may have one.
    pub(crate) fn admit(
        &self,
        permit: OwnedSemaphorePermit,
        ip: IpAddr,
    ) -> Result<ConnectionSlot, Refusal> {
        if self.rate.take(ip).is_err() {
            return Err(Refusal::Rate);
        }
        if self.per_ip == 0 {
            return Ok(ConnectionSlot {
                _permit: permit,
                ip,
                open: None,
            });
        }
        let mut open = self.open.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= self.per_ip {
            return Err(Refusal::PerIp);
        }
        *count += 1;
        Ok(ConnectionSlot {
            _permit: permit,
            ip,
            open: Some(self.open.clone()),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let Some(open) = &self.open else { return };
        let mut open = open.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_address_holds_at_most_its_share_and_gets_it_back_on_close() {
        let slots = Slots::new(10, 2, 0);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let first = slots.admit(slots.free().await, a).ok().expect("first");
        let _second = slots.admit(slots.free().await, a).ok().expect("second");
        assert!(matches!(
            slots.admit(slots.free().await, a),
            Err(Refusal::PerIp)
        ));
        assert!(
            slots.admit(slots.free().await, b).is_ok(),
            "another address"
        );
        drop(first);
        assert!(slots.admit(slots.free().await, a).is_ok(), "freed on close");
    }

    #[tokio::test]
    async fn a_full_node_waits_for_a_slot() {
        let slots = Slots::new(1, 0, 0);
        let held = slots.free().await;
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), slots.free()).await;
        assert!(waiting.is_err(), "no second slot");
        drop(held);
        let _ = slots.free().await;
    }
}
