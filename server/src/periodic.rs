//! Housekeeping on a timer: [`every`] runs for as long as what it tends
//! lives (the task holds only a weak reference, so dropping the owner ends
//! it); [`Ticks`] paces a sweep that stops with the server.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Runs `task` every `period` (the first time at once) until `owner` is dropped.
pub(crate) fn every<T, F, Fut>(period: Duration, owner: Weak<T>, mut task: F)
where
    T: Send + Sync + 'static,
    F: FnMut(Arc<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let Some(owner) = owner.upgrade() else {
                return;
            };
            task(owner).await;
        }
    });
}

/// Ticks every `period` (the first at once) until `shutdown` changes: the
/// loop of a background sweep that stops with the server.
pub(crate) struct Ticks {
    ticker: tokio::time::Interval,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Ticks {
    pub(crate) fn new(period: Duration, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        let mut ticker = tokio::time::interval(period);
        // A sweep that overran does not run twice to catch up.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { ticker, shutdown }
    }

    /// Waits for the next tick; false once shutdown has begun.
    pub(crate) async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.ticker.tick() => true,
            _ = self.shutdown.changed() => false,
        }
    }
}
