//! The `push.v1` contract shared by `pushd`, the SDKs and the load generator.
//!
//! The `.proto` file under `proto/push/v1/` is the source of truth; this crate
//! only compiles it and exposes the descriptor set for gRPC reflection.
#![forbid(unsafe_code)]

pub mod codec;

/// Generated messages, clients and servers for package `push.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("push.v1");

    /// Encoded `FileDescriptorSet`, served by the reflection service so
    /// `grpcurl` works without the `.proto` file.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("push_v1_descriptor");
}

/// Generated code for `push.admin.v1`, the operators' service.
pub mod admin {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("push.admin.v1");

    /// Encoded `FileDescriptorSet` of the admin service alone: reflection
    /// serves it only where the admin service is served.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("push_admin_v1_descriptor");
}

/// Generated code for `push.internal.v1`, spoken only between the pushd
/// nodes of a cluster. Deliberately left out of the reflection descriptor
/// set: nothing on the public listener advertises it.
pub mod internal {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("push.internal.v1");
}
