//! What one client may make the public port hold: connections (in all, per
//! IP address, new ones per second), streams per connection, what a
//! stream may hold unacked, and how long a connection or a request may take
//! before pushd lets it go. `config` resolves it from the settings.

use std::time::Duration;

#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    /// Connections open at once on the public port; 0 = derived at start
    /// from the open-files limit (see `transport::descriptors`).
    pub(crate) max_connections: u32,
    /// Connections open at once from one IP address; 0 = no limit.
    pub(crate) max_connections_per_ip: u32,
    /// New connections per second per IP address (bursts of 5x); 0 = no limit.
    pub(crate) connection_rate_per_ip: u32,
    /// HTTP/2 streams open at once per connection.
    pub(crate) max_streams_per_connection: u32,
    /// A request's answer must start within this (a stream's, once open, may run on).
    pub(crate) request_timeout: Duration,
    /// After this, a connection is asked to close (HTTP/2 GOAWAY) ...
    pub(crate) max_connection_age: Option<Duration>,
    /// ... and closed this much later, whatever it still has open.
    pub(crate) max_connection_age_grace: Duration,
    /// Sent data unacknowledged (or unsent behind a zero window) this long
    /// means a dead peer: the kernel drops the connection (TCP_USER_TIMEOUT).
    pub(crate) tcp_user_timeout: Duration,
    /// Bytes of messages one `Listen` stream may have sent and not seen acked.
    pub(crate) max_stream_unacked_bytes: u32,
    /// The same, all streams of the node together.
    pub(crate) max_unacked_bytes_total: u32,
}
