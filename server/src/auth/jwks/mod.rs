//! The identity provider's signing keys (a JWKS document), fetched over
//! HTTP(S) and cached: refreshed every 10 minutes, and sooner when a token
//! names a key id the cache does not have, which is how a provider's key
//! rotation shows up.
//!
//! What an unauthenticated caller can make pushd ask of the provider is
//! bounded: one fetch at a time (callers arriving meanwhile share it), at
//! most one every [`MIN_REFETCH`] whatever its outcome, each within
//! [`FETCH_TIMEOUT`] from connecting to the last byte of a body of at most
//! [`MAX_JWKS_BYTES`].
//!
//! Where the document is comes from the provider's discovery document
//! (`discovery.rs`) unless `oidc_jwks_url` names it.

mod discovery;

use std::time::Duration;

// tokio's clock, which is the monotonic clock except in tests that pause it.
use tokio::time::Instant;

use http_body_util::{BodyExt as _, Empty, LengthLimitError};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use parking_lot::{Mutex, MutexGuard};

const REFRESH_EVERY: Duration = Duration::from_secs(600);
/// The provider is asked at most this often, whether the last ask worked or
/// not: a flood of tokens naming unknown key ids, or every device call
/// during a provider outage, costs it one request per interval, and callers
/// in between are answered at once from what is held.
const MIN_REFETCH: Duration = Duration::from_secs(5);
/// For the whole fetch: connecting, the headers and the body. A provider
/// that dribbles its answer holds one fetch (and the callers sharing it)
/// this long, no longer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A JWKS (or discovery) document is a few kilobytes; refuse anything absurd.
const MAX_JWKS_BYTES: usize = 1 << 20;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub(crate) use discovery::{ProviderUrlProblem, check_provider_url};

/// Why the provider's keys could not be fetched. A failed refresh keeps
/// the keys held; at startup it stops pushd.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksError {
    #[error("loading the system's TLS roots: {0}")]
    TlsRoots(#[source] std::io::Error),
    #[error("{url:?} is not a URL: {source}")]
    BadUrl {
        url: String,
        source: hyper::http::uri::InvalidUri,
    },
    #[error("fetching {url} took over {} s (connecting, headers and body)", FETCH_TIMEOUT.as_secs())]
    TimedOut { url: String },
    #[error("fetching {url}: {source}")]
    Request {
        url: String,
        source: hyper_util::client::legacy::Error,
    },
    #[error("fetching {url}: HTTP {status}")]
    Status {
        url: String,
        status: hyper::StatusCode,
    },
    #[error("{url} answered over {} MiB; a JWKS or discovery document is a few kilobytes", MAX_JWKS_BYTES >> 20)]
    TooLarge { url: String },
    #[error("reading {url}: {source}")]
    Body {
        url: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{url} is not a JWKS document: {source}")]
    NotJwks {
        url: String,
        source: serde_json::Error,
    },
    #[error(
        "{url} is not an OpenID Connect discovery document (it needs issuer and jwks_uri): \
         {source}; if the provider has none, set oidc_jwks_url to where it publishes its keys"
    )]
    NotDiscovery {
        url: String,
        source: serde_json::Error,
    },
    #[error(
        "{url} names the issuer {discovered:?}, not {configured:?}: set oidc_issuer to exactly \
         the provider's issuer, as its tokens carry it in `iss`"
    )]
    IssuerMismatch {
        url: String,
        configured: String,
        discovered: String,
    },
    #[error("{url} names jwks_uri {jwks_uri:?}, which {problem}")]
    DiscoveredUrl {
        url: String,
        jwks_uri: String,
        problem: ProviderUrlProblem,
    },
}

/// Why there is no key to check a token with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The provider, asked recently and successfully, does not publish it.
    Unknown,
    /// The last fetch failed and the key is not among those held.
    Unavailable,
}

pub(crate) struct JwksCache {
    url: String,
    client: Client<Https, Empty<Bytes>>,
    held: Mutex<Held>,
    /// Held while fetching: callers arriving meanwhile wait for that fetch
    /// and then answer from its result instead of starting another.
    fetching: tokio::sync::Mutex<()>,
}

struct Held {
    keys: JwkSet,
    fetched_at: Instant,
    asked_at: Instant,
    last_fetch_failed: bool,
}

impl Held {
    /// Keys stay in use while the provider is failing: an outage must not
    /// log everyone out.
    fn answer(&self, kid: &str) -> Result<Jwk, KeyError> {
        match self.keys.find(kid) {
            Some(key) => Ok(key.clone()),
            None if self.last_fetch_failed => Err(KeyError::Unavailable),
            None => Err(KeyError::Unknown),
        }
    }
}

impl JwksCache {
    /// Fetches the document at `url` once, so a wrong URL stops pushd at startup.
    pub(crate) async fn load(url: &str) -> Result<Self, JwksError> {
        Self::load_with(client()?, url.to_owned()).await
    }

    /// The same, at the `jwks_uri` the issuer's discovery document names.
    pub(crate) async fn discover(issuer: &str) -> Result<Self, JwksError> {
        let client = client()?;
        let url = discovery::jwks_uri(&client, issuer).await?;
        Self::load_with(client, url).await
    }

    async fn load_with(
        client: Client<Https, Empty<Bytes>>,
        url: String,
    ) -> Result<Self, JwksError> {
        let keys = fetch(&client, &url).await?;
        let now = Instant::now();
        Ok(Self {
            url,
            client,
            held: Mutex::new(Held {
                keys,
                fetched_at: now,
                asked_at: now,
                last_fetch_failed: false,
            }),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key with this id, refetching the document if it is stale or
    /// lacks the id, and the provider was not asked moments ago.
    pub(crate) async fn key(&self, kid: &str) -> Result<Jwk, KeyError> {
        if let Some(answer) = self.answer_without_fetching(kid) {
            return answer;
        }
        let _fetching = self.fetching.lock().await;
        // Whoever held the lock before may have just fetched.
        if let Some(answer) = self.answer_without_fetching(kid) {
            return answer;
        }
        let fetched = fetch(&self.client, &self.url).await;
        let mut held = self.held();
        held.asked_at = Instant::now();
        match fetched {
            Ok(keys) => {
                held.keys = keys;
                held.fetched_at = held.asked_at;
                held.last_fetch_failed = false;
            }
            Err(error) => {
                held.last_fetch_failed = true;
                tracing::warn!(
                    %error,
                    url = %self.url,
                    retry_in_seconds = MIN_REFETCH.as_secs(),
                    "refreshing the identity provider's keys failed"
                );
            }
        }
        held.answer(kid)
    }

    fn answer_without_fetching(&self, kid: &str) -> Option<Result<Jwk, KeyError>> {
        let held = self.held();
        let fresh_and_found =
            held.fetched_at.elapsed() < REFRESH_EVERY && held.keys.find(kid).is_some();
        (fresh_and_found || held.asked_at.elapsed() < MIN_REFETCH).then(|| held.answer(kid))
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock()
    }

    /// Where the keys are fetched from.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

fn client() -> Result<Client<Https, Empty<Bytes>>, JwksError> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(JwksError::TlsRoots)?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

async fn fetch(client: &Client<Https, Empty<Bytes>>, url: &str) -> Result<JwkSet, JwksError> {
    let body = fetch_bytes(client, url).await?;
    serde_json::from_slice(&body).map_err(|source| JwksError::NotJwks {
        url: url.to_owned(),
        source,
    })
}

/// A provider document's body, within [`FETCH_TIMEOUT`] and [`MAX_JWKS_BYTES`].
async fn fetch_bytes(client: &Client<Https, Empty<Bytes>>, url: &str) -> Result<Bytes, JwksError> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_unbounded(client, url))
        .await
        .map_err(|_| JwksError::TimedOut {
            url: url.to_owned(),
        })?
}

async fn fetch_unbounded(
    client: &Client<Https, Empty<Bytes>>,
    url: &str,
) -> Result<Bytes, JwksError> {
    let url_owned = || url.to_owned();
    let uri: hyper::Uri = url.parse().map_err(|source| JwksError::BadUrl {
        url: url_owned(),
        source,
    })?;
    let response = client.get(uri).await.map_err(|source| JwksError::Request {
        url: url_owned(),
        source,
    })?;
    if !response.status().is_success() {
        return Err(JwksError::Status {
            url: url_owned(),
            status: response.status(),
        });
    }
    Ok(
        http_body_util::Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|source| {
                if source.is::<LengthLimitError>() {
                    JwksError::TooLarge { url: url_owned() }
                } else {
                    JwksError::Body {
                        url: url_owned(),
                        source,
                    }
                }
            })?
            .to_bytes(),
    )
}

#[cfg(test)]
mod tests;
