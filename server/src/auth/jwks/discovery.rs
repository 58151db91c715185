//! Where a provider publishes its keys: the `jwks_uri` of its OpenID Connect
//! discovery document (`<issuer>/.well-known/openid-configuration`, OpenID
//! Connect Discovery 1.0 §4). Providers differ (Google's keys are at
//! `/oauth2/v3/certs`, Keycloak's at `/protocol/openid-connect/certs`), so
//! the path is read, never guessed.
//!
//! Read once at start: a provider rotates keys within its JWKS document,
//! not the document's address.

use serde::Deserialize;

use super::{Https, JwksError, fetch_bytes};
use hyper_util::client::legacy::Client;

/// The fields pushd uses; a provider's document has many more.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Why a provider URL is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderUrlProblem {
    #[error("is not a URL: {0}")]
    NotUrl(#[source] hyper::http::uri::InvalidUri),
    #[error(
        "is plaintext http: anyone on the path to the provider could substitute its \
         signing keys; use its https:// URL (http:// is accepted only for loopback hosts: \
         127.0.0.0/8, ::1, localhost)"
    )]
    Plaintext,
    #[error("must be an https:// URL with a host, e.g. https://accounts.example.com")]
    NotHttps,
}

/// The provider's keys decide who is authenticated: fetched over plaintext,
/// anyone on the path could serve their own and sign in as any user.
/// Loopback is spared, for a provider on the same host (and tests).
pub(crate) fn check_provider_url(url: &str) -> Result<(), ProviderUrlProblem> {
    let uri: hyper::Uri = url.parse().map_err(ProviderUrlProblem::NotUrl)?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(ProviderUrlProblem::Plaintext),
        _ => Err(ProviderUrlProblem::NotHttps),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The issuer's discovery document's address (§4.1: the issuer without a
/// trailing slash, then the well-known path).
fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Reads the issuer's discovery document for its `jwks_uri`, which must be
/// as trustworthy as the issuer URL itself.
pub(super) async fn jwks_uri(
    client: &Client<Https, http_body_util::Empty<hyper::body::Bytes>>,
    issuer: &str,
) -> Result<String, JwksError> {
    let url = discovery_url(issuer);
    let body = fetch_bytes(client, &url).await?;
    let document: Discovery =
        serde_json::from_slice(&body).map_err(|source| JwksError::NotDiscovery {
            url: url.clone(),
            source,
        })?;
    // §4.3: a document naming another issuer may be an impostor's, or
    // oidc_issuer is spelled differently from the `iss` tokens carry.
    if document.issuer != issuer {
        return Err(JwksError::IssuerMismatch {
            url,
            configured: issuer.to_owned(),
            discovered: document.issuer,
        });
    }
    check_provider_url(&document.jwks_uri).map_err(|problem| JwksError::DiscoveredUrl {
        url,
        jwks_uri: document.jwks_uri.clone(),
        problem,
    })?;
    Ok(document.jwks_uri)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An issuer on loopback whose discovery document names `jwks_uri`.
    async fn issuer_naming(jwks_uri: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let body = serde_json::json!({ "issuer": issuer, "jwks_uri": jwks_uri }).to_string();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.read(&mut [0u8; 1024]).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        issuer
    }

    #[tokio::test]
    async fn a_discovered_key_url_follows_the_issuers_scheme_rule() {
        let client = super::super::client().expect("client");
        let issuer = issuer_naming("http://keys.example.com/certs").await;
        let refused = jwks_uri(&client, &issuer)
            .await
            .expect_err("plaintext keys");
        let message = refused.to_string();
        assert!(
            message.contains("keys.example.com") && message.contains("https://"),
            "{message}"
        );
        let issuer = issuer_naming("http://127.0.0.1:1/certs").await;
        assert_eq!(
            jwks_uri(&client, &issuer).await.expect("loopback"),
            "http://127.0.0.1:1/certs"
        );
    }
}
