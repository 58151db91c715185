//! The Rust SDK's `listen` run in the background, as an app runs it.

use std::time::Duration;

use push_sdk::{DeviceClient, ListenEnd, ListenOptions, Notification, SdkError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub struct SdkListener {
    inbox: mpsc::UnboundedReceiver<Notification>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<ListenEnd, SdkError>>,
}

impl SdkListener {
    pub fn start(device: &DeviceClient) -> Self {
        let (received, inbox) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let device = device.clone();
        let task = tokio::spawn(async move {
            let handler = move |notification: Notification| {
                let received = received.clone();
                async move {
                    let _ = received.send(notification);
                }
            };
            device
                .listen(handler, ListenOptions::default(), async {
                    let _ = stopped.await;
                })
                .await
        });
        Self { inbox, stop, task }
    }

    /// The next notification the app got (10 s at most).
    pub async fn next(&mut self) -> Notification {
        tokio::time::timeout(Duration::from_secs(10), self.inbox.recv())
            .await
            .expect("in time")
            .expect("a notification")
    }

    /// True if the app got nothing more.
    pub fn nothing_more(&mut self) -> bool {
        self.inbox.try_recv().is_err()
    }

    /// Waits (10 s at most) for listen to end by itself, e.g. on a GoAway.
    pub async fn end(self) -> Result<ListenEnd, SdkError> {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("listen ended in time")
            .expect("join")
    }

    /// Stops listening; the listen call must end cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("join")
            .expect("listen ended cleanly");
    }
}
