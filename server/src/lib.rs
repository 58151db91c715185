//! `pushd`: a push notification server.
//!
//! Site backends submit end-to-end encrypted (RFC 8291) messages over gRPC
//! or RFC 8030 HTTP; devices hold a gRPC or WebSocket stream and receive them
//! live, or get them from storage when they come back. The layout is the map
//! (module names in plain code are internal; `ARCHITECTURE.md` has the
//! layers and one message's path):
//!
//! - the services, transport-free, shared by every front (`services` builds
//!   them): `submit` — the sender service: submitting a message and where
//!   it goes (`submit::Router`); [`device`] — registration, subscriptions,
//!   stored messages, delivery sessions; `account` — accounts and sealed
//!   keys; `senders` — a device's sender blocks; `receipts` — delivery
//!   receipts and the keeper that finds out what became of each message;
//! - `error` — the one error model: each service's error kind, mapped once
//!   to gRPC and to HTTP;
//! - the fronts, thin adapters: `api` — gRPC (`push.v1.Sender`,
//!   `push.v1.Device`, admin); [`http`] — RFC 8030 HTTP for web-push
//!   libraries; [`websocket`] — the WebSocket push protocol (Firefox), all
//!   on one port (`transport`);
//! - [`auth`] — device credentials and VAPID sender identity;
//! - `limits` — message rates per sender key, subscription and device;
//! - [`bridges`] — APNs and FCM for phones without a stream, and the presence policy;
//! - [`delivery`] — live streams: backlog replay, live messages, acks;
//! - [`store`] — everything durable, behind the [`store::Store`] trait;
//! - [`cluster`] — routing between the nodes that share a distributed store;
//! - [`domain`] — the types all of them share;
//! - [`config`], [`telemetry`], [`tracing_export`], `server` — settings, logs
//!   and metrics, OpenTelemetry traces, wiring.
#![forbid(unsafe_code)]
// Items are pub(crate) unless a user outside the crate (the binary, the integration
// tests, the load generator, the fuzz targets) names them.
#![warn(unreachable_pub)]

pub(crate) mod account;
pub(crate) mod api;
pub mod auth;
pub mod bridges;
pub mod cluster;
pub mod config;
pub mod delivery;
pub mod device;
pub mod domain;
pub(crate) mod error;
pub mod http;
pub(crate) mod limits;
pub(crate) mod periodic;
pub(crate) mod receipts;
pub(crate) mod senders;
pub(crate) mod server;
pub(crate) mod services;
pub mod store;
pub(crate) mod submit;
pub mod telemetry;
pub mod tracing_export;
pub(crate) mod transport;
pub mod websocket;

pub use config::{Cli, Settings};
pub use server::{Listeners, StartError, run, serve};
