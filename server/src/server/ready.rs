//! The ready file: once every listener is bound and serving, pushd writes
//! its bound addresses as one JSON object, so scripts and tests that start
//! it on port 0 learn where it listens without reading its log:
//!
//! ```json
//! {"listen":"127.0.0.1:40123","metrics":"127.0.0.1:40124","cluster":{"listen":"127.0.0.1:40125","node_id":"0193…"},"pid":4242}
//! ```
//!
//! `metrics` and `cluster` are null when off. Written to a temporary name
//! beside it and renamed, so a reader never sees half a file.

use std::net::SocketAddr;
use std::path::Path;

use super::StartError;

/// What the ready file announces.
pub(crate) struct Announced<'a> {
    pub(crate) listen: SocketAddr,
    pub(crate) metrics: Option<SocketAddr>,
    /// The internal listener and this node's id, in a cluster.
    pub(crate) cluster: Option<(SocketAddr, &'a str)>,
}

pub(crate) async fn write(path: &Path, announced: &Announced<'_>) -> Result<(), StartError> {
    let body = serde_json::json!({
        "listen": announced.listen.to_string(),
        "metrics": announced.metrics.map(|address| address.to_string()),
        "cluster": announced.cluster.map(|(listen, node_id)| serde_json::json!({
            "listen": listen.to_string(),
            "node_id": node_id,
        })),
        "pid": std::process::id(),
    });
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let failed = |source| StartError::ReadyFile {
        path: path.to_path_buf(),
        source,
    };
    tokio::fs::write(&temporary, format!("{body}\n"))
        .await
        .map_err(failed)?;
    tokio::fs::rename(&temporary, path).await.map_err(failed)
}

/// On a clean stop: a file left behind would announce a pushd that is gone.
pub(crate) async fn remove(path: &Path) {
    if let Err(error) = tokio::fs::remove_file(path).await {
        tracing::warn!(%error, path = %path.display(), "cannot remove the ready file");
    }
}
