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
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Why the TLS settings cannot serve; each names the file to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read tls_{what}_file {}: check it names a file pushd may read", .path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not valid PEM: give tls_cert_file the certificate chain in PEM form", .path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: pki_types::pem::Error,
    },
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", .path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no PEM private key", .path.display())]
    NoKey { path: PathBuf },
    #[error(
        "the TLS certificate and key do not make a usable pair: check tls_key_file is the key of tls_cert_file's first certificate"
    )]
    Unusable(#[source] rustls::Error),
}

/// TLS for the public listener from PEM files: the certificate chain and
/// its key. ALPN offers `h2` first (gRPC and HTTP/2 senders), then `http/1.1`.
pub(crate) fn acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, TlsError> {
    use pki_types::pem::PemObject as _;
    let read = |path: &Path, what: &'static str| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let (cert, key) = (read(cert_file, "cert")?, read(key_file, "key")?);
    let chain: Vec<pki_types::CertificateDer<'static>> =
        pki_types::CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .map_err(|source| TlsError::Pem {
                path: cert_file.to_path_buf(),
                source,
            })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_file.to_path_buf(),
        });
    }
    let key = pki_types::PrivateKeyDer::from_pem_slice(&key).map_err(|_| TlsError::NoKey {
        path: key_file.to_path_buf(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Unusable)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Unusable)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The TLS connections made from accepted TCP ones. The task ends when the
/// server drops the stream (it stops accepting on shutdown), and the accept
/// loop with it.
pub(crate) fn handshakes(
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
