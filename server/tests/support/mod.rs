//! Test harness: the real `pushd` binary on port 0 with a temp data folder,
//! raw gRPC clients for protocol-level checks, and the SDK for crypto.
#![allow(dead_code)]

pub mod process;
pub mod raw;

pub use process::Pushd;
pub use raw::RawDevice;
