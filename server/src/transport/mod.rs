//! The public listener: the socket, admission (connection slots, per-IP
//! caps, descriptor backoff), TLS, and the deadlines every connection
//! lives under, all applied before any HTTP/2 work is spent on it; then
//! the serving of each connection (HTTP/1.1 with upgrades, HTTP/2).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_stream::{Stream, StreamExt as _};

mod accept;
pub(crate) mod descriptors;
mod serve;
mod settings;
mod slots;
mod stream;
mod tls;

pub(crate) use serve::{ConnectionLimits, serve};
pub(crate) use settings::ConnectionSettings;
pub(crate) use stream::{Lifetime, PublicStream};
pub(crate) use tls::{TlsError, acceptor as tls};

/// Pending connections the kernel may queue before pushd accepts them. A
/// fleet reconnecting after a restart arrives as a burst far above tokio's
/// default of 128 (the kernel caps this at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

pub(crate) fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The connections the public port serves: admitted, and through the TLS
/// handshake when TLS is configured.
pub(crate) fn connections(
    listener: TcpListener,
    settings: &ConnectionSettings,
    max_connections: u32,
    tls: Option<TlsAcceptor>,
    lifetime: Lifetime,
) -> Pin<Box<dyn Stream<Item = io::Result<PublicStream>> + Send>> {
    let admitted = accept::accept(listener, settings, max_connections);
    match tls {
        Some(acceptor) => Box::pin(tls::handshakes(admitted, acceptor, lifetime)),
        None => Box::pin(admitted.map(move |accepted| {
            Ok(PublicStream::new(
                stream::Io::Plain(accepted.tcp),
                accepted.slot,
                lifetime,
            ))
        })),
    }
}
