//! The real [`ApnsTransport`]: `apns-h2` (HTTP/2 to Apple, connections kept
//! open), with token (.p8, ES256, the JWT reused under an hour by apns-h2)
//! or certificate (.p12 or PEM) authentication.

use std::path::{Path, PathBuf};

use apns_h2::request::notification::{
    CollapseId, NotificationBuilder, NotificationOptions, PushType,
};
use apns_h2::{Client, ClientConfig, DefaultNotificationBuilder, Endpoint, Error};
use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{ApnsFailure, ApnsRequest, ApnsTransport, Priority};

/// How pushd proves itself to Apple.
#[derive(Clone)]
pub(crate) enum ApnsCredentials {
    /// A .p8 signing key with its key id and team id.
    Token {
        key_file: std::path::PathBuf,
        key_id: String,
        team_id: String,
    },
    /// A .p12 certificate bundle and its password, or a .pem file holding
    /// the certificate and its private key.
    Certificate {
        p12_file: std::path::PathBuf,
        password: String,
    },
}

impl std::fmt::Debug for ApnsCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token {
                key_file, key_id, ..
            } => write!(
                formatter,
                "APNs token key {} ({key_id})",
                key_file.display()
            ),
            Self::Certificate { p12_file, .. } => {
                write!(formatter, "APNs certificate {}", p12_file.display())
            }
        }
    }
}

/// Why the APNs client could not be made from the configured credentials.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApnsClientError {
    #[error("opening {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("APNs signing key {}: {source}", path.display())]
    SigningKey { path: PathBuf, source: Error },
    #[error("APNs certificate {}: {source}", path.display())]
    Certificate { path: PathBuf, source: Error },
}

/// One client per environment; a device's bridge says which it uses.
pub(crate) struct ApnsH2 {
    production: Client,
    sandbox: Client,
}

impl ApnsH2 {
    pub(crate) fn new(credentials: &ApnsCredentials) -> Result<Self, ApnsClientError> {
        Ok(Self {
            production: client(credentials, Endpoint::Production)?,
            sandbox: client(credentials, Endpoint::Sandbox)?,
        })
    }
}

fn read(path: &Path) -> Result<std::fs::File, ApnsClientError> {
    std::fs::File::open(path).map_err(|source| ApnsClientError::Open {
        path: path.to_owned(),
        source,
    })
}

fn client(credentials: &ApnsCredentials, endpoint: Endpoint) -> Result<Client, ApnsClientError> {
    let config = ClientConfig::new(endpoint);
    match credentials {
        ApnsCredentials::Token {
            key_file,
            key_id,
            team_id,
        } => Client::token(read(key_file)?, key_id.clone(), team_id.clone(), config).map_err(
            |source| ApnsClientError::SigningKey {
                path: key_file.clone(),
                source,
            },
        ),
        // A .pem holds the certificate and its key together; anything else is PKCS#12.
        ApnsCredentials::Certificate { p12_file, password }
            if p12_file
                .extension()
                .is_some_and(|extension| extension == "pem") =>
        {
            let pem = std::fs::read(p12_file).map_err(|source| ApnsClientError::Read {
                path: p12_file.clone(),
                source,
            })?;
            Client::certificate_parts(&pem, &pem, config).map_err(|source| {
                ApnsClientError::Certificate {
                    path: p12_file.clone(),
                    source,
                }
            })
        }
        ApnsCredentials::Certificate { p12_file, password } => {
            Client::certificate(&mut read(p12_file)?, password, config).map_err(|source| {
                ApnsClientError::Certificate {
                    path: p12_file.clone(),
                    source,
                }
            })
        }
    }
}

/// The apns-h2 payload for `request`; its JSON is [`ApnsRequest::payload`].
pub fn payload(request: &ApnsRequest) -> apns_h2::request::payload::Payload<'_> {
    let options = NotificationOptions {
        apns_id: Some(&request.apns_id),
        apns_push_type: Some(PushType::Alert),
        apns_expiration: Some(request.expiration),
        apns_priority: Some(match request.priority {
            Priority::Immediate => apns_h2::request::notification::Priority::High,
            Priority::Conserve => apns_h2::request::notification::Priority::Normal,
        }),
        apns_topic: Some(&request.topic),
        apns_collapse_id: request
            .collapse_id
            .as_deref()
            .and_then(|id| CollapseId::new(id).ok()),
    };
    let mut payload = DefaultNotificationBuilder::new()
        .title(request.alert_title.as_str())
        .mutable_content()
        .build(request.device_token.as_str(), options);
    let push: Map<String, Value> = request
        .fields
        .iter()
        .map(|(key, value)| (key.to_string(), Value::String(value.clone())))
        .collect();
    payload.data.insert("push".into(), Value::Object(push));
    payload
}

#[async_trait]
impl ApnsTransport for ApnsH2 {
    async fn post(&self, request: &ApnsRequest) -> Result<(), ApnsFailure> {
        let client = if request.sandbox {
            &self.sandbox
        } else {
            &self.production
        };
        match client.send(payload(request)).await {
            Ok(_) => Ok(()),
            Err(Error::ResponseError(response)) => Err(ApnsFailure {
                status: Some(response.code),
                reason: response.error.map(|body| format!("{:?}", body.reason)),
            }),
            Err(error) => Err(ApnsFailure {
                status: None,
                reason: Some(error.to_string()),
            }),
        }
    }
}
