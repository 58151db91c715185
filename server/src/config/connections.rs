//! Resolves [`ConnectionSettings`]: what one client may make the public
//! port hold, and how long a connection or a request may take.

use std::time::Duration;

use super::{ConfigError, Overrides, defaults};
use crate::transport::ConnectionSettings;

pub(super) fn connection_settings(
    flags: &Overrides,
    file: &Overrides,
) -> Result<ConnectionSettings, ConfigError> {
    let max_streams_per_connection = flags
        .max_streams_per_connection
        .or(file.max_streams_per_connection)
        .unwrap_or(defaults::MAX_STREAMS_PER_CONNECTION);
    if max_streams_per_connection == 0 {
        return Err(ConfigError::Zero("max_streams_per_connection"));
    }
    let seconds =
        |flag: Option<u64>, value: Option<u64>, default: u64, name: &'static str| match flag
            .or(value)
            .unwrap_or(default)
        {
            0 => Err(ConfigError::Zero(name)),
            seconds => Ok(Duration::from_secs(seconds)),
        };
    let age = flags
        .max_connection_age_seconds
        .or(file.max_connection_age_seconds)
        .unwrap_or(defaults::MAX_CONNECTION_AGE_SECONDS);
    Ok(ConnectionSettings {
        max_connections: flags
            .max_connections
            .or(file.max_connections)
            .unwrap_or(defaults::MAX_CONNECTIONS),
        max_connections_per_ip: flags
            .max_connections_per_ip
            .or(file.max_connections_per_ip)
            .unwrap_or(defaults::MAX_CONNECTIONS_PER_IP),
        connection_rate_per_ip: flags
            .connection_rate_per_ip
            .or(file.connection_rate_per_ip)
            .unwrap_or(defaults::CONNECTION_RATE_PER_IP),
        max_streams_per_connection,
        request_timeout: seconds(
            flags.request_timeout_seconds,
            file.request_timeout_seconds,
            defaults::REQUEST_TIMEOUT_SECONDS,
            "request_timeout_seconds",
        )?,
        max_connection_age: (age > 0).then(|| Duration::from_secs(age)),
        max_connection_age_grace: Duration::from_secs(
            flags
                .max_connection_age_grace_seconds
                .or(file.max_connection_age_grace_seconds)
                .unwrap_or(defaults::MAX_CONNECTION_AGE_GRACE_SECONDS),
        ),
        tcp_user_timeout: seconds(
            flags.tcp_user_timeout_seconds,
            file.tcp_user_timeout_seconds,
            defaults::TCP_USER_TIMEOUT_SECONDS,
            "tcp_user_timeout_seconds",
        )?,
        max_stream_unacked_bytes: flags
            .max_stream_unacked_bytes
            .or(file.max_stream_unacked_bytes)
            .unwrap_or(defaults::MAX_STREAM_UNACKED_BYTES),
        max_unacked_bytes_total: flags
            .max_unacked_bytes_total
            .or(file.max_unacked_bytes_total)
            .unwrap_or(defaults::MAX_UNACKED_BYTES_TOTAL),
    })
}
