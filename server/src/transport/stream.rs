//! One connection type for the public port, plaintext or TLS, and the
//! TLS handshakes run beside the accept loop (never in it), each bounded in
//! time (`handshake_timeout_seconds`) and in number, so a client that opens
//! a connection and says nothing holds one permit for that long and blocks
//! nobody.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Handshakes in progress at once; further connections wait in the kernel's
/// accept queue until one finishes or times out.
const MAX_HANDSHAKES: usize = 1024;

pub enum PublicStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl PublicStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            PublicStream::Plain(tcp) => tcp,
            PublicStream::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl Connected for PublicStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp().connect_info()
    }
}

impl AsyncRead for PublicStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PublicStream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            PublicStream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PublicStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PublicStream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            PublicStream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PublicStream::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            PublicStream::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PublicStream::Plain(tcp) => tcp.is_write_vectored(),
            PublicStream::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PublicStream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            PublicStream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PublicStream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            PublicStream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The TLS connections made from accepted TCP ones. The accept task ends
/// when the server drops the stream (it stops accepting on shutdown), and
/// the listener with it.
pub fn accept_tls(
    accepted: impl Stream<Item = io::Result<TcpStream>> + Send + 'static,
    acceptor: TlsAcceptor,
    deadline: Duration,
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
            let tcp = match next {
                None => break,
                Some(Ok(tcp)) => tcp,
                Some(Err(error)) => {
                    if ready.send(Err(error)).await.is_err() {
                        break;
                    }
                    continue;
                }
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (ready, acceptor) = (ready.clone(), acceptor.clone());
            tokio::spawn(async move {
                let _permit = permit;
                match tokio::time::timeout(deadline, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = ready.send(Ok(PublicStream::Tls(Box::new(tls)))).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(connections)
}
