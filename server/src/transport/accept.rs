//! The accept loop: takes a connection only when one of `max_connections`
//! slots is free (otherwise it waits in the kernel's queue), refuses an
//! address over its share, and backs off when the process is out of
//! descriptors instead of spinning on `accept` (each failed call is
//! immediate, so a bare retry loop burns a core and starves the tasks that
//! would free descriptors).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;

use super::ConnectionSettings;
use super::slots::{ConnectionSlot, Refusal, Slots};
use crate::telemetry::LogGate;

/// First pause after running out of descriptors; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// A TCP connection with nothing to say is probed after this idle time,
/// every [`KEEPALIVE_INTERVAL`]: catches peers that vanished without a FIN
/// while no data is in flight (TCP_USER_TIMEOUT covers the rest).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// An accepted TCP connection and the slot it holds until it closes.
pub(crate) struct Admitted {
    pub(crate) tcp: TcpStream,
    pub(crate) slot: ConnectionSlot,
}

/// Accepts on `listener` until the returned stream is dropped.
pub(crate) fn accept(
    listener: TcpListener,
    settings: &ConnectionSettings,
    max_connections: u32,
) -> impl Stream<Item = Admitted> + Send + 'static {
    let slots = Slots::new(
        max_connections,
        settings.max_connections_per_ip,
        settings.connection_rate_per_ip,
    );
    let user_timeout = settings.tcp_user_timeout;
    let (admitted, connections) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            // Waiting here leaves new connections queued in the kernel, which
            // is what a full server should do with them.
            let free = tokio::select! {
                _ = admitted.closed() => return,
                free = slots.free() => free,
            };
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff = FIRST_BACKOFF;
                    accepted
                }
                Err(error) if out_of_descriptors(&error) => {
                    metrics::counter!("pushd_accept_errors_total", "reason" => "descriptors")
                        .increment(1);
                    warn_at_most_every_10s(&error, backoff);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                // A connection reset before we took it, and the like: the next one is fine.
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    continue;
                }
            };
            let slot = match slots.admit(free, peer.ip()) {
                Ok(slot) => slot,
                Err(refusal) => {
                    refused(refusal, peer);
                    continue;
                }
            };
            tune(&tcp, user_timeout);
            if admitted.send(Admitted { tcp, slot }).await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(connections)
}

fn out_of_descriptors(error: &io::Error) -> bool {
    // EMFILE (the process's limit), ENFILE (the system's), ENOBUFS/ENOMEM.
    matches!(error.raw_os_error(), Some(24 | 23 | 105 | 12))
}

fn warn_at_most_every_10s(error: &io::Error, backoff: Duration) {
    static GATE: LogGate = LogGate::new(Duration::from_secs(10));
    if !GATE.open() {
        return;
    }
    tracing::warn!(
        %error,
        backoff_ms = backoff.as_millis() as u64,
        "cannot accept connections: out of file descriptors; raise the open-files limit \
         (ulimit -n, LimitNOFILE=) or lower max_connections"
    );
}

fn refused(refusal: Refusal, peer: SocketAddr) {
    let reason = match refusal {
        Refusal::Rate => "rate",
        Refusal::PerIp => "per_ip",
    };
    metrics::counter!("pushd_connections_refused_total", "reason" => reason).increment(1);
    match refusal {
        Refusal::Rate => {
            tracing::debug!(peer = %peer.ip(), "refused a connection: too many new ones from this address");
        }
        Refusal::PerIp => {
            static GATE: LogGate = LogGate::new(Duration::from_secs(10));
            if !GATE.open() {
                return;
            }
            tracing::warn!(
                peer = %peer.ip(),
                "refused a connection: this address has max_connections_per_ip open; \
                 behind a proxy (every client has its address) set max_connections_per_ip = 0"
            );
        }
    }
}

/// Socket options that make a dead or stalled peer cost nothing for long.
fn tune(tcp: &TcpStream, user_timeout: Duration) {
    // Small frames (one message, one ack) must not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let socket = socket2::SockRef::from(tcp);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    let _ = socket.set_tcp_keepalive(&keepalive);
    // A peer that stops reading leaves our writes unsent behind a zero
    // window: neither keepalive (data is in flight) nor HTTP/2 pings (they
    // queue behind the data) notice, this does.
    let _ = socket.set_tcp_user_timeout(Some(user_timeout));
}
