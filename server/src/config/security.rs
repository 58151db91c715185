//! Who may connect and how much: TLS, connection and message rates, quotas.

use std::path::PathBuf;

use super::Overrides;

#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// TLS on the public listener; plaintext when unset (behind a TLS proxy).
    pub tls: Option<TlsFiles>,
    /// New connections per second per IP address (bursts of 5x); 0 = no limit.
    pub connection_rate_per_ip: u32,
    pub max_subscriptions_per_device: usize,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl SecuritySettings {
    pub(super) fn resolve(flags: &Overrides, file: &Overrides) -> Result<Self, String> {
        let cert_file = flags.tls_cert_file.clone().or(file.tls_cert_file.clone());
        let key_file = flags.tls_key_file.clone().or(file.tls_key_file.clone());
        let tls = match (cert_file, key_file) {
            (Some(cert_file), Some(key_file)) => Some(TlsFiles {
                cert_file,
                key_file,
            }),
            (None, None) => None,
            _ => return Err("set both tls_cert_file and tls_key_file, or neither".into()),
        };
        let max_subscriptions = flags
            .max_subscriptions_per_device
            .or(file.max_subscriptions_per_device)
            .unwrap_or(200);
        if max_subscriptions == 0 {
            return Err("max_subscriptions_per_device must be at least 1".into());
        }
        Ok(Self {
            tls,
            connection_rate_per_ip: flags
                .connection_rate_per_ip
                .or(file.connection_rate_per_ip)
                .unwrap_or(0),
            max_subscriptions_per_device: max_subscriptions as usize,
        })
    }
}
