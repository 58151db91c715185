//! While a device is away: it registers as a new browser and leaves, and messages are
//! POSTed to its endpoint the way a site backend sends them (RFC 8030, VAPID, HTTP/1.1
//! keep-alive), each accepted one known by its `Location`.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use push_sdk::crypto;
use tokio::task::JoinSet;

use crate::protocol::SubmitOver;
use crate::submit::Target;
use crate::submit_http::{HttpSenders, MessageIds, OwnConnection};
use crate::webpush::SenderKey;
use crate::webpush::socket::PushService;

/// POSTs in flight while the device is away, each on its own keep-alive connection.
const POST_CONCURRENCY: usize = 16;

/// A device that registered a channel and went away.
pub(super) struct Away {
    pub(super) uaid: String,
    pub(super) channel_ids: Vec<String>,
    pub(super) target: Target,
}

/// A new browser: `hello`, one channel for `sender`, its keys and a body for them; then away.
pub(super) async fn go_away(
    service: &PushService,
    source: IpAddr,
    sender: &SenderKey,
    payload_bytes: usize,
) -> anyhow::Result<Away> {
    let mut socket = service.open(source).await?;
    let uaid = socket.hello(None).await?;
    let channel_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let endpoint = socket.register(&channel_id, &sender.register_key()).await?;
    socket.close().await;
    let keys = crypto::generate_subscription_keys().context("subscription keys")?;
    let plaintext = vec![b'x'; payload_bytes];
    let payload = crypto::encrypt(keys.public_key(), keys.auth_secret(), &plaintext)
        .context("encrypting the test payload")?;
    Ok(Away {
        uaid,
        channel_ids: vec![channel_id],
        target: Target { endpoint, payload },
    })
}

/// POSTs `count` messages to the endpoint; the `Location` ids of the accepted ones (`201`)
/// and the refusals by kind.
pub(super) async fn post(
    target: &Target,
    authorization: &str,
    source: IpAddr,
    count: usize,
) -> anyhow::Result<(Vec<String>, BTreeMap<String, u64>)> {
    let origin = push_sdk::vapid::audience_for(&target.endpoint).context("endpoint origin")?;
    let targets = std::slice::from_ref(target);
    let (over, ids) = (SubmitOver::Http1, MessageIds::Location);
    let senders = HttpSenders::connect(
        over,
        &origin,
        source,
        authorization,
        targets,
        POST_CONCURRENCY,
        ids,
    );
    let senders = Arc::new(senders.await?);
    let next = Arc::new(AtomicUsize::new(0));
    let mut loops = JoinSet::new();
    for _ in 0..POST_CONCURRENCY.min(count) {
        let (senders, next) = (senders.clone(), next.clone());
        loops.spawn(async move {
            let mut own = OwnConnection::default();
            let mut answers = Vec::new();
            loop {
                let slot = next.fetch_add(1, Ordering::Relaxed);
                if slot >= count {
                    return answers;
                }
                answers.push(senders.submit(slot, 0, 3600, &mut own).await);
            }
        });
    }
    let (mut accepted, mut refused) = (Vec::with_capacity(count), BTreeMap::new());
    while let Some(answers) = loops.join_next().await {
        for answer in answers.context("a POST loop failed")? {
            match answer {
                Ok(id) => accepted.push(id),
                Err(refusal) => *refused.entry(refusal.kind).or_insert(0) += 1,
            }
        }
    }
    Ok((accepted, refused))
}
