//! The site-backend side of a throughput run: `window` submission loops multiplexed over a
//! few shared connections, each loop taking the next numbered slot, so one counter sets both
//! the pacing (slot i is due at start + i / rate) and the round-robin over devices.
//!
//! Every message carries the same pre-computed VAPID header (the server verifies a token
//! once and caches it) and a body encrypted for its device before the run: the client spends
//! its CPU on the protocol, not on crypto, and the figures describe the server. The protocol is
//! gRPC `SubmitMessage` here, or RFC 8030 HTTP ([`crate::submit_http`]); only the call differs.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use push_proto::v1::sender_client::SenderClient;
use push_proto::v1::{SubmitMessageRequest, Urgency};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

use crate::client::authorized;
use crate::histogram::Histogram;
use crate::submit_http::{HttpSenders, OwnConnection};

/// Only the first failure is printed in full; the rest are counted by code.
static FIRST_ERROR_SHOWN: AtomicBool = AtomicBool::new(false);

/// One device as a sender sees it.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: String,
    pub payload: Vec<u8>,
}

/// Where the loops send: gRPC clients, or an RFC 8030 HTTP front.
pub enum Senders {
    Grpc(Vec<SenderClient<Channel>>),
    Http(HttpSenders),
}

/// A submission that was not accepted: what it is counted as, and what to print.
pub struct Refused {
    pub kind: String,
    pub detail: String,
}

pub struct SubmitPlan {
    pub targets: Arc<Vec<Target>>,
    pub senders: Senders,
    pub authorization: AsciiMetadataValue,
    pub ttl_seconds: u32,
    /// Submissions per second; `None` for as fast as the window allows.
    pub rate: Option<f64>,
    pub window: usize,
    pub duration: Duration,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The id the server answered with (the gRPC reply's or the `201`'s).
    pub id: String,
    /// Which target (device) it was for, for a join by order when ids do not match.
    pub target: usize,
    pub started: Instant,
}

/// What the loops saw.
#[derive(Debug, Default)]
pub struct Submissions {
    /// Every accepted message.
    pub accepted: Vec<Accepted>,
    pub errors: BTreeMap<String, u64>,
    /// Start → OK, µs.
    pub accept: Histogram,
    pub last_answer: Option<Instant>,
}

impl Submissions {
    fn merge(&mut self, other: Submissions) {
        self.accepted.extend(other.accepted);
        for (code, count) in other.errors {
            *self.errors.entry(code).or_insert(0) += count;
        }
        self.accept.merge(&other.accept);
        self.last_answer = self.last_answer.max(other.last_answer);
    }
}

/// Runs the loops from `start` until `start + duration`, then returns when all are answered.
pub async fn run(plan: SubmitPlan, start: Instant) -> Submissions {
    let plan = Arc::new(plan);
    let next_slot = Arc::new(AtomicU64::new(0));
    let loops: Vec<_> = (0..plan.window.max(1))
        .map(|_| tokio::spawn(submit_loop(plan.clone(), next_slot.clone(), start)))
        .collect();
    let mut all = Submissions::default();
    for handle in loops {
        match handle.await {
            Ok(seen) => all.merge(seen),
            Err(error) => *all.errors.entry(format!("task: {error}")).or_insert(0) += 1,
        }
    }
    all
}

async fn submit_loop(
    plan: Arc<SubmitPlan>,
    next_slot: Arc<AtomicU64>,
    start: Instant,
) -> Submissions {
    let deadline = start + plan.duration;
    let mut seen = Submissions::default();
    let mut own = OwnConnection::default();
    if plan.targets.is_empty() || matches!(&plan.senders, Senders::Grpc(s) if s.is_empty()) {
        return seen;
    }
    loop {
        let slot = next_slot.fetch_add(1, Ordering::Relaxed);
        if let Some(rate) = plan.rate {
            let due = start + Duration::from_secs_f64(slot as f64 / rate);
            if due >= deadline {
                return seen;
            }
            tokio::time::sleep_until(due.into()).await;
        } else if Instant::now() >= deadline {
            return seen;
        }
        let index = slot as usize % plan.targets.len();
        let started = Instant::now();
        let answer = match &plan.senders {
            Senders::Grpc(senders) => submit_grpc(&plan, senders, slot as usize, index).await,
            Senders::Http(http) => {
                http.submit(slot as usize, index, plan.ttl_seconds, &mut own)
                    .await
            }
        };
        let answered = Instant::now();
        seen.last_answer = Some(answered);
        match answer {
            Ok(message_id) => {
                let micros = answered.duration_since(started).as_micros() as u64;
                seen.accept.record(micros);
                seen.accepted.push(Accepted {
                    id: message_id,
                    target: index,
                    started,
                });
            }
            Err(refused) => {
                *seen.errors.entry(refused.kind).or_insert(0) += 1;
                if !FIRST_ERROR_SHOWN.swap(true, Ordering::Relaxed) {
                    eprintln!("loadtest worker: first submit error: {}", refused.detail);
                }
            }
        }
    }
}

/// One `SubmitMessage` on the slot's channel; the message id, or the status code.
async fn submit_grpc(
    plan: &SubmitPlan,
    senders: &[SenderClient<Channel>],
    slot: usize,
    index: usize,
) -> Result<String, Refused> {
    let target = &plan.targets[index];
    let mut sender = senders[slot % senders.len()].clone();
    let message = SubmitMessageRequest {
        endpoint: target.endpoint.clone(),
        payload: target.payload.clone(),
        ttl_seconds: plan.ttl_seconds,
        urgency: Urgency::Normal as i32,
        topic: String::new(),
        receipt: false,
    };
    let request = authorized(message, &plan.authorization);
    match sender.submit_message(request).await {
        Ok(reply) => Ok(reply.into_inner().message_id),
        Err(status) => Err(Refused {
            kind: format!("{:?}", status.code()),
            detail: status.to_string(),
        }),
    }
}
