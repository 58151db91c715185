//! `pushd`: a push notification server.
//!
//! Site backends submit end-to-end encrypted (RFC 8291) messages over gRPC;
//! devices hold a gRPC stream and receive them live, or get them from storage
//! when they come back. The layout is the map:
//!
//! - [`api`] — the public gRPC services and the one error-to-status mapping;
//! - [`auth`] — device credentials and VAPID sender identity;
//! - [`bridges`] — APNs and FCM for phones without a stream, and the presence policy;
//! - [`delivery`] — live streams: backlog replay, live messages, acks;
//! - [`store`] — everything durable, behind the [`store::Store`] trait;
//! - [`cluster`] — routing between the nodes that share a distributed store;
//! - [`domain`] — the types all of them share;
//! - [`config`], [`telemetry`], [`server`] — settings, logs and metrics, wiring.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod bridges;
pub mod cluster;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod periodic;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod transport;

pub use config::{Cli, Settings};
pub use server::run;
