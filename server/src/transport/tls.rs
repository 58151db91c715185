//! TLS on the public port: the acceptor from PEM files, and the handshakes
//! run beside the accept loop (never in it), each bounded in time
//! (`handshake_timeout_seconds`) and in number, so a client that opens a
//! connection and says nothing holds one permit for that long and blocks
//! nobody.
//!
//! TLS is done here rather than by tonic because the port serves HTTP/1.1
//! web-push senders as well as gRPC: tonic's acceptor offers only `h2` in
//! ALPN, which fails the handshake of a client that offers only `http/1.1`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt as _};

use super::accept::Admitted;
use super::stream::{Io, Lifetime, PublicStream};

/// Handshakes in progress at once; further connections wait (holding their
/// slot) until one finishes or times out.
const MAX_HANDSHAKES: usize = 1024;

/// TLS for the public listener from PEM files: the certificate chain and
/// its key. ALPN offers `h2` first (gRPC and HTTP/2 senders), then `http/1.1`.
pub fn acceptor(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsAcceptor> {
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

/// The TLS connections made from accepted TCP ones. The task ends when the
/// server drops the stream (it stops accepting on shutdown), and the accept
/// loop with it.
pub fn handshakes(
    accepted: impl Stream<Item = Admitted> + Send + 'static,
    acceptor: TlsAcceptor,
    lifetime: Lifetime,
) -> impl Stream<Item = io::Result<PublicStream>> {
    let (ready, connections) = mpsc::channel(64);
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let mut accepted = std::pin::pin!(accepted);
        loop {
            let next = tokio::select! {
                _ = ready.closed() => break,
                next = accepted.next() => next,
            };
            let Some(Admitted { tcp, slot }) = next else {
                break;
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (ready, acceptor) = (ready.clone(), acceptor.clone());
            tokio::spawn(async move {
                let _permit = permit;
                match tokio::time::timeout(lifetime.opening, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let stream = PublicStream::new(Io::Tls(Box::new(tls)), slot, lifetime);
                        let _ = ready.send(Ok(stream)).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => {
                        metrics::counter!("pushd_connections_closed_total", "reason" => "silent")
                            .increment(1);
                        tracing::debug!("TLS handshake timed out");
                    }
                }
            });
        }
    });
    ReceiverStream::new(connections)
}
