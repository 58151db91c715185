//! One connection type for the public port, plaintext or TLS, holding its
//! connection slot, and two deadlines enforced on its reads and writes:
//! the first bytes of a request (a client that connects and says nothing,
//! or dribbles its preface, holds a descriptor only that long), and the
//! hard end of a connection past `max_connection_age` plus its grace.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::slots::ConnectionSlot;

/// The HTTP/2 connection preface is 24 bytes, and any HTTP/1.1 request
/// line with its Host header is longer: a client that has not sent this
/// much within the handshake timeout is not a client.
const OPENING_BYTES: usize = 24;

pub(crate) enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// How long a connection may take to open, and live.
#[derive(Clone, Copy)]
pub(crate) struct Lifetime {
    pub(crate) opening: Duration,
    /// `max_connection_age` + grace, when there is an age limit.
    pub(crate) at_most: Option<Duration>,
}

pub(crate) struct PublicStream {
    io: Io,
    _slot: ConnectionSlot,
    /// Bytes still to read before the opening deadline is lifted.
    opening: usize,
    started: Instant,
    at_most: Option<Duration>,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl PublicStream {
    pub(crate) fn new(io: Io, slot: ConnectionSlot, lifetime: Lifetime) -> Self {
        let started = Instant::now();
        Self {
            io,
            _slot: slot,
            opening: OPENING_BYTES,
            started,
            at_most: lifetime.at_most,
            deadline: Some(Box::pin(tokio::time::sleep_until(
                started + lifetime.opening,
            ))),
        }
    }

    fn tcp(&self) -> &TcpStream {
        match &self.io {
            Io::Plain(tcp) => tcp,
            Io::Tls(tls) => tls.get_ref().0,
        }
    }

    /// An error once the current deadline has passed (registering the waker otherwise).
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let Some(deadline) = self.deadline.as_mut() else {
            return Ok(());
        };
        if deadline.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        let (kind, why) = if self.opening > 0 {
            metrics::counter!("pushd_connections_closed_total", "reason" => "silent").increment(1);
            (
                io::ErrorKind::TimedOut,
                "no request within handshake_timeout_seconds",
            )
        } else {
            metrics::counter!("pushd_connections_closed_total", "reason" => "age").increment(1);
            (
                io::ErrorKind::ConnectionAborted,
                "past max_connection_age and its grace",
            )
        };
        Err(io::Error::new(kind, why))
    }

    fn opened(&mut self, read: usize) {
        if self.opening == 0 {
            return;
        }
        self.opening = self.opening.saturating_sub(read);
        if self.opening > 0 {
            return;
        }
        match self.at_most {
            Some(at_most) => {
                if let Some(deadline) = self.deadline.as_mut() {
                    deadline.as_mut().reset(self.started + at_most);
                }
            }
            None => self.deadline = None,
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
        let this = self.get_mut();
        this.check_deadline(cx)?;
        let before = buf.filled().len();
        let polled = match &mut this.io {
            Io::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        };
        this.opened(buf.filled().len() - before);
        polled
    }
}

impl AsyncWrite for PublicStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check_deadline(cx)?;
        match &mut this.io {
            Io::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check_deadline(cx)?;
        match &mut this.io {
            Io::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(tcp) => tcp.is_write_vectored(),
            Io::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Io::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
