//! Test harness: the real `pushd` binary on port 0 with a temp data folder
//! (or pushd in process, through `pushd::serve`),
//! raw gRPC clients for protocol-level checks, and the SDK for crypto.
#![allow(dead_code)]

pub mod abuse;
pub mod cql;
pub mod google;
pub mod idp;
pub mod in_process;
pub mod process;
pub mod raw;
pub mod sdk;
pub mod tls;
pub mod webpush;

pub use process::Pushd;
pub use raw::RawDevice;

/// The usual start of a test: a fresh pushd, one registered device with one
/// subscription (no sender key), and a VAPID sender.
pub struct Setup {
    pub pushd: Pushd,
    pub device: RawDevice,
    pub subscription: raw::Subscribed,
    pub sender: raw::Senders,
}

impl Setup {
    pub async fn new(pushd_args: &[&str]) -> Self {
        let pushd = Pushd::start(pushd_args);
        let mut device = RawDevice::register(&pushd.url).await;
        let subscription = device.subscribe(None).await;
        let sender = raw::Senders::new(&pushd.url).await;
        Self {
            pushd,
            device,
            subscription,
            sender,
        }
    }

    /// The same start on a pushd already running at `url` (https with the
    /// test CA's certificate when `ca` is given).
    pub async fn over(pushd: Pushd, url: &str, ca: Option<&tls::TestCa>) -> Self {
        let channel = tls::channel(url, ca).await;
        let mut device = RawDevice::register_on(push_proto::v1::device_client::DeviceClient::new(
            channel.clone(),
        ))
        .await;
        let subscription = device.subscribe(None).await;
        let sender = raw::Senders::on(
            push_proto::v1::sender_client::SenderClient::new(channel),
            url,
        );
        Self {
            pushd,
            device,
            subscription,
            sender,
        }
    }
}
