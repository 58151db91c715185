//! `pushctl keygen`: a new VAPID key, written owner-only, never over an existing file (that
//! would silently orphan every subscription pinned to the old key).
use std::io::Write;
use std::path::Path;

use crate::vapid::VapidKey;
use anyhow::Context;

pub(super) fn run(out: &Path) -> anyhow::Result<()> {
    let key = VapidKey::generate().context("cannot generate a VAPID key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).with_context(|| {
        format!(
            "cannot create {} (remove it first to replace a key)",
            out.display()
        )
    })?;
    file.write_all(key.to_pem().as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}", key.public_key_b64());
    Ok(())
}
