//! Housekeeping that runs on a timer for as long as what it tends lives:
//! the task holds only a weak reference, so dropping the owner ends it.

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
