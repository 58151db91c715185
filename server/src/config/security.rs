//! Who may do what and how much: TLS, admin and device authentication,
//! message rates, quotas.

use std::path::PathBuf;

use super::{ConfigError, Overrides, defaults};
use crate::auth::{self, OidcSettings, ProviderUrlProblem};
use crate::limits::{Rate, RateSettings};

#[derive(Clone)]
pub(crate) struct SecuritySettings {
    /// TLS on the public listener; plaintext when unset (behind a TLS proxy).
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) max_subscriptions_per_device: usize,
    pub(crate) rates: RateSettings,
    /// Bytes of verified VAPID tokens kept ([`crate::auth::VapidVerifier`]).
    pub(crate) vapid_cache_bytes: usize,
    /// Serves the admin API when set.
    pub(crate) admin_token: Option<String>,
    /// Devices authenticate with an identity provider's tokens when set.
    pub(crate) oidc: Option<OidcSettings>,
}

#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
}

// Hand-written so the admin token never lands in logs.
impl std::fmt::Debug for SecuritySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecuritySettings")
            .field("tls", &self.tls)
            .field(
                "max_subscriptions_per_device",
                &self.max_subscriptions_per_device,
            )
            .field("vapid_cache_bytes", &self.vapid_cache_bytes)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl SecuritySettings {
    pub(super) fn resolve(flags: &Overrides, file: &Overrides) -> Result<Self, ConfigError> {
        let cert_file = flags.tls_cert_file.clone().or(file.tls_cert_file.clone());
        let key_file = flags.tls_key_file.clone().or(file.tls_key_file.clone());
        let tls = match (cert_file, key_file) {
            (Some(cert_file), Some(key_file)) => Some(TlsFiles {
                cert_file,
                key_file,
            }),
            (None, None) => None,
            _ => return Err(ConfigError::TlsPair),
        };
        let max_subscriptions = flags
            .max_subscriptions_per_device
            .or(file.max_subscriptions_per_device)
            .unwrap_or(defaults::MAX_SUBSCRIPTIONS_PER_DEVICE);
        if max_subscriptions == 0 {
            return Err(ConfigError::Zero("max_subscriptions_per_device"));
        }
        let admin_token = flags
            .admin_token
            .clone()
            .or(file.admin_token.clone())
            .map(|token| token.expose().to_owned());
        if admin_token.as_ref().is_some_and(|token| token.len() < 16) {
            return Err(ConfigError::AdminTokenTooShort);
        }
        let rate = |flag: Option<u32>, value: Option<u32>, default: u32| {
            let per_second = flag.or(value).unwrap_or(default);
            Rate {
                per_second,
                burst: per_second.saturating_mul(10),
            }
        };
        let rates = RateSettings {
            sender: rate(flags.sender_rate, file.sender_rate, defaults::SENDER_RATE),
            subscription: rate(
                flags.subscription_rate,
                file.subscription_rate,
                defaults::SUBSCRIPTION_RATE,
            ),
            device: rate(flags.device_rate, file.device_rate, defaults::DEVICE_RATE),
            register: rate(
                flags.register_rate_per_ip,
                file.register_rate_per_ip,
                defaults::REGISTER_RATE_PER_IP,
            ),
        };
        let pick = |flag: &Option<String>, value: &Option<String>| flag.clone().or(value.clone());
        let oidc = match pick(&flags.oidc_issuer, &file.oidc_issuer) {
            None => None,
            Some(issuer) => {
                let audience = pick(&flags.oidc_audience, &file.oidc_audience)
                    .ok_or(ConfigError::OidcAudienceMissing)?;
                let jwks_url = pick(&flags.oidc_jwks_url, &file.oidc_jwks_url);
                check_provider_url("oidc_issuer", &issuer)?;
                if let Some(jwks_url) = &jwks_url {
                    check_provider_url("oidc_jwks_url", jwks_url)?;
                }
                Some(OidcSettings {
                    issuer,
                    audience,
                    jwks_url,
                })
            }
        };
        let vapid_cache_bytes = flags
            .vapid_cache_bytes
            .or(file.vapid_cache_bytes)
            .unwrap_or(defaults::VAPID_CACHE_BYTES);
        Ok(Self {
            vapid_cache_bytes: usize::try_from(vapid_cache_bytes).unwrap_or(usize::MAX),
            oidc,
            rates,
            admin_token,
            tls,
            max_subscriptions_per_device: max_subscriptions as usize,
        })
    }
}

/// The rule is the one discovered key URLs follow too (`auth::check_provider_url`).
fn check_provider_url(setting: &'static str, url: &str) -> Result<(), ConfigError> {
    auth::check_provider_url(url).map_err(|problem| {
        let url = url.to_owned();
        match problem {
            ProviderUrlProblem::NotUrl(source) => ConfigError::ProviderUrl {
                setting,
                url,
                source,
            },
            ProviderUrlProblem::Plaintext => ConfigError::ProviderUrlPlaintext { setting, url },
            ProviderUrlProblem::NotHttps => ConfigError::ProviderUrlNotHttps { setting, url },
        }
    })
}

/// A setting that must not be printed: `{:?}` shows `<redacted>`.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, Overrides, Settings};

    fn resolved(issuer: &str, jwks_url: Option<&str>) -> Result<Settings, ConfigError> {
        let flags = Overrides {
            oidc_issuer: Some(issuer.into()),
            oidc_audience: Some("pushd".into()),
            oidc_jwks_url: jwks_url.map(str::to_owned),
            ..Overrides::default()
        };
        Settings::resolve(flags, Overrides::default())
    }

    #[test]
    fn identity_provider_urls_must_be_https_unless_on_loopback() {
        for (issuer, jwks_url, refused) in [
            ("http://idp.example.com", None, "oidc_issuer"),
            (
                "https://idp.example.com",
                Some("http://idp.example.com/keys"),
                "oidc_jwks_url",
            ),
            ("http://10.0.0.7:8080", None, "oidc_issuer"),
            ("http://localhost.example.com", None, "oidc_issuer"),
            ("ftp://idp.example.com", None, "oidc_issuer"),
            ("idp.example.com", None, "oidc_issuer"),
        ] {
            let error = resolved(issuer, jwks_url)
                .err()
                .unwrap_or_else(|| panic!("{issuer} {jwks_url:?} accepted"))
                .to_string();
            assert!(error.contains(refused), "{error}");
            assert!(error.contains("https://"), "{error}");
        }
        for (issuer, jwks_url) in [
            ("https://idp.example.com", None),
            (
                "https://idp.example.com",
                Some("https://keys.example.com/jwks"),
            ),
            ("http://127.0.0.1:8080", None),
            ("http://127.3.2.1", None),
            ("http://[::1]:8080/realm", None),
            ("http://LOCALHOST:9000", None),
        ] {
            let settings = resolved(issuer, jwks_url)
                .unwrap_or_else(|error| panic!("{issuer} {jwks_url:?} refused: {error}"));
            assert!(settings.security.oidc.is_some());
        }
    }
}
