//! The identity provider's signing keys (a JWKS document), fetched over
//! HTTP(S) and cached: refreshed every 10 minutes, and at once (at most every
//! 5 seconds) when a token names a key id the cache does not have, which is
//! how a provider's key rotation shows up.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;

const REFRESH_EVERY: Duration = Duration::from_secs(600);
const MIN_REFETCH: Duration = Duration::from_secs(5);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A JWKS document is a few kilobytes; refuse anything absurd.
const MAX_JWKS_BYTES: usize = 1 << 20;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

pub struct JwksCache {
    url: String,
    client: Client<Https, Empty<Bytes>>,
    held: Mutex<Held>,
}

struct Held {
    keys: JwkSet,
    fetched_at: Instant,
}

impl JwksCache {
    /// Fetches the document once, so a wrong URL stops pushd at startup.
    pub async fn load(url: &str) -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("loading the system's TLS roots: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let mut cache = Self {
            url: url.to_owned(),
            client,
            held: Mutex::new(Held {
                keys: JwkSet { keys: Vec::new() },
                fetched_at: Instant::now(),
            }),
        };
        let keys = cache.fetch().await?;
        cache.held = Mutex::new(Held {
            keys,
            fetched_at: Instant::now(),
        });
        Ok(cache)
    }

    /// The key with this id, refetching the document if it is stale or
    /// lacks the id (and was not fetched moments ago).
    pub async fn key(&self, kid: &str) -> Option<jsonwebtoken::jwk::Jwk> {
        let (found, age) = {
            let held = self.held.lock().ok()?;
            (held.keys.find(kid).cloned(), held.fetched_at.elapsed())
        };
        let stale = age >= REFRESH_EVERY;
        if (found.is_some() && !stale) || (found.is_none() && age < MIN_REFETCH) {
            return found;
        }
        match self.fetch().await {
            Ok(keys) => {
                let found = keys.find(kid).cloned();
                if let Ok(mut held) = self.held.lock() {
                    *held = Held {
                        keys,
                        fetched_at: Instant::now(),
                    };
                }
                found
            }
            Err(error) => {
                // Keep the keys we have: a provider outage must not log everyone out.
                tracing::warn!(%error, url = %self.url, "refreshing the identity provider's keys failed");
                found
            }
        }
    }

    async fn fetch(&self) -> Result<JwkSet, String> {
        let uri: hyper::Uri = self
            .url
            .parse()
            .map_err(|error| format!("oidc_jwks_url {:?}: {error}", self.url))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| format!("fetching {} timed out", self.url))?
            .map_err(|error| format!("fetching {}: {error}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("fetching {}: HTTP {}", self.url, response.status()));
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading {}: {error}", self.url))?
            .to_bytes();
        serde_json::from_slice(&body)
            .map_err(|error| format!("{} is not a JWKS document: {error}", self.url))
    }
}
