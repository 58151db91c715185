//! What one client may make the public port hold: connections (in all, per
//! IP address, new ones per second), streams per connection, what a
//! stream may hold unacked, and how long a connection or a request may take
//! before pushd lets it go.

use std::time::Duration;

use super::Overrides;

#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Connections open at once on the public port; 0 = derived at start
    /// from the open-files limit (see `transport::descriptors`).
    pub max_connections: u32,
    /// Connections open at once from one IP address; 0 = no limit.
    pub max_connections_per_ip: u32,
    /// New connections per second per IP address (bursts of 5x); 0 = no limit.
    pub connection_rate_per_ip: u32,
    /// HTTP/2 streams open at once per connection.
    pub max_streams_per_connection: u32,
    /// A request's answer must start within this (a stream's, once open, may run on).
    pub request_timeout: Duration,
    /// After this, a connection is asked to close (HTTP/2 GOAWAY) ...
    pub max_connection_age: Option<Duration>,
    /// ... and closed this much later, whatever it still has open.
    pub max_connection_age_grace: Duration,
    /// Sent data unacknowledged (or unsent behind a zero window) this long
    /// means a dead peer: the kernel drops the connection (TCP_USER_TIMEOUT).
    pub tcp_user_timeout: Duration,
    /// Bytes of messages one `Listen` stream may have sent and not seen acked.
    pub max_stream_unacked_bytes: u32,
    /// The same, all streams of the node together.
    pub max_unacked_bytes_total: u32,
}

impl ConnectionSettings {
    pub(super) fn resolve(flags: &Overrides, file: &Overrides) -> Result<Self, String> {
        let max_streams_per_connection = flags
            .max_streams_per_connection
            .or(file.max_streams_per_connection)
            .unwrap_or(256);
        if max_streams_per_connection == 0 {
            return Err("max_streams_per_connection must be at least 1".into());
        }
        let seconds = |flag: Option<u64>, value: Option<u64>, default: u64, name: &str| match flag
            .or(value)
            .unwrap_or(default)
        {
            0 => Err(format!("{name} must be at least 1")),
            seconds => Ok(Duration::from_secs(seconds)),
        };
        let age = flags
            .max_connection_age_seconds
            .or(file.max_connection_age_seconds)
            .unwrap_or(86_400);
        Ok(Self {
            max_connections: flags.max_connections.or(file.max_connections).unwrap_or(0),
            max_connections_per_ip: flags
                .max_connections_per_ip
                .or(file.max_connections_per_ip)
                .unwrap_or(1024),
            connection_rate_per_ip: flags
                .connection_rate_per_ip
                .or(file.connection_rate_per_ip)
                .unwrap_or(0),
            max_streams_per_connection,
            request_timeout: seconds(
                flags.request_timeout_seconds,
                file.request_timeout_seconds,
                30,
                "request_timeout_seconds",
            )?,
            max_connection_age: (age > 0).then(|| Duration::from_secs(age)),
            max_connection_age_grace: Duration::from_secs(
                flags
                    .max_connection_age_grace_seconds
                    .or(file.max_connection_age_grace_seconds)
                    .unwrap_or(60),
            ),
            tcp_user_timeout: seconds(
                flags.tcp_user_timeout_seconds,
                file.tcp_user_timeout_seconds,
                60,
                "tcp_user_timeout_seconds",
            )?,
            max_stream_unacked_bytes: flags
                .max_stream_unacked_bytes
                .or(file.max_stream_unacked_bytes)
                .unwrap_or(256 << 10),
            max_unacked_bytes_total: flags
                .max_unacked_bytes_total
                .or(file.max_unacked_bytes_total)
                .unwrap_or(256 << 20),
        })
    }
}
