//! Compiles the public `push.v1`, the operators' `push.admin.v1` and the
//! cluster-internal `push.internal.v1`
//! contracts with the vendored `protoc`, so building
//! needs no system protobuf compiler.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Every message knows its protobuf name (`prost::Name`), so a body that
    // does not decode is refused naming the message it should have been.
    // The vendored compiler is named on each config rather than through
    // `PROTOC`: setting the environment would take `unsafe`.
    let named = || {
        let mut config = tonic_prost_build::Config::new();
        config.enable_type_names().protoc_executable(&protoc);
        config
    };
    // One descriptor set per contract, so reflection advertises the admin
    // service only where it is served, and never the internal one.
    let contracts = [
        ("proto/push/v1/push.proto", Some("push_v1_descriptor.bin")),
        (
            "proto/push/admin/v1/admin.proto",
            Some("push_admin_v1_descriptor.bin"),
        ),
        ("proto/push/internal/v1/node.proto", None),
    ];
    for (proto, descriptor_set) in contracts {
        let mut builder = tonic_prost_build::configure()
            // Small starting buffers per stream; see src/codec.rs.
            .codec_path("crate::codec::PushCodec");
        if let Some(file) = descriptor_set {
            builder = builder.file_descriptor_set_path(out_dir.join(file));
        }
        builder.compile_with_config(named(), &[proto], &["proto"])?;
    }
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
