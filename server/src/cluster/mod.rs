//! Routing between the `pushd` nodes of a cluster that share one distributed
//! store: a backend may submit to any node, the device may stream from any
//! other.
//!
//! - [`Directory`] (kept by the distributed store): which nodes are alive and
//!   which node holds each streaming device;
//! - [`membership`]: this node's heartbeat, its view of the live nodes, and
//!   its removal on shutdown;
//! - [`Cluster`]: claims a route for each stream and forwards messages to the
//!   node that holds the device;
//! - [`service`]: the internal `push.internal.v1.Node` service, on its own
//!   listener, behind the shared cluster secret.
//!
//! Why a stream claims its route *before* reading its backlog: the sender
//! writes the message and then reads the route. With quorum reads and writes
//! at least one of the two sees the other's write, so every message is either
//! in the backlog the stream reads or forwarded to it.

pub mod conformance;
mod membership;
mod node;
mod peers;
mod router;
pub mod service;

use std::time::Duration;

/// Kept by the distributed store; defined beside [`crate::store::Store`].
pub use crate::store::{Directory, NodeRecord, Route};
pub(crate) use membership::spawn_membership;
pub(crate) use node::{ClusterNode, ClusterSettings};
pub(crate) use router::{Cluster, Forwarded};

/// A node heartbeats this often; the directory forgets it after [`NODE_TTL`].
pub(crate) const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
pub(crate) const NODE_TTL: Duration = Duration::from_secs(15);
