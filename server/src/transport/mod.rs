//! The public listener: the socket, TLS, and a per-IP limit on new
//! connections, applied as connections are accepted (before any TLS or
//! HTTP/2 work is spent on them).
//!
//! TLS is done here rather than by tonic because the port serves HTTP/1.1
//! web-push senders as well as gRPC: tonic's acceptor offers only `h2` in
//! ALPN, which fails the handshake of a client that offers only `http/1.1`.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt as _};

mod stream;
pub use stream::{PublicStream, accept_tls};

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

/// TLS for the public listener from PEM files: the certificate chain and
/// its key. ALPN offers `h2` first (gRPC and HTTP/2 senders), then `http/1.1`.
pub fn tls(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsAcceptor> {
    use pki_types::pem::PemObject as _;
    let read = |path: &Path, what: &str| {
        std::fs::read(path).with_context(|| format!("reading the TLS {what} {}", path.display()))
    };
    let (cert, key) = (read(cert_file, "certificate")?, read(key_file, "key")?);
    let chain: Vec<pki_types::CertificateDer<'static>> =
        pki_types::CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading the PEM certificates in {}", cert_file.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert_file.display()
        );
    }
    let key = pki_types::PrivateKeyDer::from_pem_slice(&key)
        .map_err(|_| anyhow::anyhow!("{} holds no PEM private key", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not make a usable pair")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
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
    .map(|accepted| {
        accepted.inspect(|stream| {
            // Small frames (one message, one ack) must not wait for Nagle.
            let _ = stream.set_nodelay(true);
        })
    })
}

/// The connections the public port serves: accepted, rate-limited, and
/// through the TLS handshake when TLS is configured.
/// `tls` pairs the acceptor with the time a client has to finish its handshake.
pub fn connections(
    listener: TcpListener,
    per_second: u32,
    tls: Option<(TlsAcceptor, Duration)>,
) -> std::pin::Pin<Box<dyn Stream<Item = std::io::Result<PublicStream>> + Send>> {
    let accepted = incoming(listener, per_second);
    match tls {
        Some((acceptor, deadline)) => Box::pin(accept_tls(accepted, acceptor, deadline)),
        None => Box::pin(accepted.map(|accepted| accepted.map(PublicStream::Plain))),
    }
}
