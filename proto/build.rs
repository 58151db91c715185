//! Compiles `proto/push/v1/push.proto` with the vendored `protoc`, so building
//! needs no system protobuf compiler.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { env::set_var("PROTOC", protoc) };
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // Small starting buffers per stream; see src/codec.rs.
        .codec_path("crate::codec::PushCodec")
        .file_descriptor_set_path(out_dir.join("push_v1_descriptor.bin"))
        .compile_protos(&["proto/push/v1/push.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
