//! The public listener: the socket, TLS, and a per-IP limit on new
//! connections, applied as connections are accepted (before any TLS or
//! HTTP/2 work is spent on them).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::{Identity, ServerTlsConfig};

/// Pending connections the kernel may queue before pushd accepts them. A
/// fleet reconnecting after a restart arrives as a burst far above tokio's
/// default of 128 (the kernel caps this at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// TLS for the public listener from PEM files: the certificate chain and its key.
pub fn tls(cert_file: &Path, key_file: &Path) -> anyhow::Result<ServerTlsConfig> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).with_context(|| format!("reading the TLS {what} {}", path.display()))
    };
    let (cert, key) = (read(cert_file, "certificate")?, read(key_file, "key")?);
    if !String::from_utf8_lossy(&cert).contains("-----BEGIN CERTIFICATE-----") {
        anyhow::bail!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert_file.display()
        );
    }
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY-----") {
        anyhow::bail!("{} holds no PEM private key", key_file.display());
    }
    Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
}

/// Accepted connections, less those from an IP opening more than
/// `per_second` (bursts of `5 × per_second`) new ones; `0` admits all.
/// Refused connections are closed at once and counted.
pub fn incoming(
    listener: TcpListener,
    per_second: u32,
) -> impl Stream<Item = std::io::Result<TcpStream>> {
    let limiter = NonZeroU32::new(per_second).map(|rate| {
        let burst = NonZeroU32::new(per_second.saturating_mul(5)).unwrap_or(rate);
        let limiter: Arc<DefaultKeyedRateLimiter<IpAddr>> = Arc::new(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ));
        // Keeps the limiter's memory to the addresses seen recently.
        crate::periodic::every(
            Duration::from_secs(60),
            Arc::downgrade(&limiter),
            |limiter| async move {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            },
        );
        limiter
    });
    TcpListenerStream::new(listener).filter(move |accepted| {
        let (Some(limiter), Ok(stream)) = (&limiter, accepted) else {
            return true;
        };
        let Ok(peer) = stream.peer_addr() else {
            return true;
        };
        let admitted = limiter.check_key(&peer.ip()).is_ok();
        if !admitted {
            metrics::counter!("pushd_connections_refused_total", "reason" => "rate").increment(1);
            tracing::debug!(peer = %peer.ip(), "refused a connection: too many from this address");
        }
        admitted
    })
}
