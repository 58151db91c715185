//! `pushd`: a push notification server.
//!
//! Site backends submit end-to-end encrypted (RFC 8291) messages over gRPC;
//! devices hold a gRPC stream and receive them live, or get them from storage
//! when they come back. The layout is the map:
//!
//! - [`submit`] — submitting a message, whichever front it came through, and
//!   where it goes ([`submit::Router`]);
//! - [`receipts`] — delivery receipts senders ask for, and the keeper that
//!   finds out what became of each message;
//! - [`api`] — the public gRPC services and the one error-to-status mapping;
//! - [`http`] — the RFC 8030 HTTP front for web-push libraries, on the same port;
//! - [`auth`] — device credentials and VAPID sender identity;
//! - [`limits`] — message rates per sender key, subscription and device;
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
pub mod http;
pub mod limits;
pub mod periodic;
pub mod receipts;
pub mod server;
pub mod store;
pub mod submit;
pub mod telemetry;
pub mod transport;
pub mod websocket;

pub use config::{Cli, Settings};
pub use server::{Listeners, StartError, run, serve};
