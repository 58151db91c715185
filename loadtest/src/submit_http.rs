//! Submissions as RFC 8030 `POST <endpoint URL>` instead of gRPC: `TTL`, `Content-Encoding:
//! aes128gcm`, the same VAPID `Authorization` value and the same pre-encrypted body; a refusal
//! is counted by status. The message id comes from pushd's `201 Created` JSON body, or, for a
//! run that relies on nothing but the standard, from the `Location` the `201` carries.
//!
//! - HTTP/1.1: `window` keep-alive connections opened before the run; each submission loop
//!   takes one and keeps it (one request in flight per connection, like a sender's connection
//!   pool sized to its concurrency), opening a new one if the server closed it.
//! - HTTP/2: `sender_channels` h2c connections (prior knowledge), requests round-robin over
//!   them by slot and multiplexed, as gRPC's are.
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioExecutor;

use crate::client::{UNARY_TIMEOUT, tcp_from};
use crate::protocol::SubmitOver;
use crate::submit::{Refused, Target};

type Http1 = http1::SendRequest<Full<Bytes>>;

/// A submission loop's own HTTP/1.1 connection, taken on first use.
#[derive(Default)]
pub struct OwnConnection(Option<Http1>);

/// Where the id of an accepted message is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageIds {
    /// pushd's `201` body: `{"message_id": …}`, the id its devices see.
    ResponseBody,
    /// The last path segment of `Location` (RFC 8030 §5: the push message's resource);
    /// whether that is what devices see depends on the server (see [`crate::join`]).
    Location,
}

pub struct HttpSenders {
    server: SocketAddr,
    ids: MessageIds,
    source: IpAddr,
    /// `Host` for HTTP/1.1; h2 carries it in the URI (`:authority`).
    host: Option<HeaderValue>,
    authorization: HeaderValue,
    /// Per target: where its endpoint is on the server submissions go to, and its body.
    targets: Vec<(Uri, Bytes)>,
    h2: Vec<http2::SendRequest<Full<Bytes>>>,
    /// HTTP/1.1 connections opened before the run.
    pool: Mutex<Vec<Http1>>,
}

impl HttpSenders {
    /// Resolves `submit_url` and opens `connections` connections to it from `source`.
    pub async fn connect(
        over: SubmitOver,
        submit_url: &str,
        source: IpAddr,
        authorization: &str,
        targets: &[Target],
        connections: usize,
        ids: MessageIds,
    ) -> anyhow::Result<Self> {
        let base: Uri = submit_url.parse().context("submit url")?;
        let authority = base.authority().context("submit url has no host")?.as_str();
        // `localhost` may resolve to ::1 first; the source address decides the family.
        let server = tokio::net::lookup_host(authority)
            .await?
            .find(|address| address.is_ipv4() == source.is_ipv4())
            .with_context(|| format!("{authority} has no address reachable from {source}"))?;
        let h2 = over == SubmitOver::Http2;
        let mut uris = Vec::with_capacity(targets.len());
        for target in targets {
            let endpoint: Uri = target.endpoint.parse().context("endpoint url")?;
            let path = endpoint.path_and_query().map_or("/", |path| path.as_str());
            let uri = if h2 {
                format!("http://{authority}{path}").parse()?
            } else {
                path.parse()?
            };
            uris.push((uri, Bytes::from(target.payload.clone())));
        }
        let (mut h2s, mut pool) = (Vec::new(), Vec::new());
        for _ in 0..connections.max(1) {
            let io = tcp_from(source, server).await?;
            if h2 {
                let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await?;
                tokio::spawn(connection);
                h2s.push(sender);
            } else {
                let (sender, connection) = http1::handshake(io).await?;
                tokio::spawn(connection);
                pool.push(sender);
            }
        }
        Ok(HttpSenders {
            server,
            ids,
            source,
            host: (!h2)
                .then(|| HeaderValue::from_str(authority))
                .transpose()?,
            authorization: HeaderValue::from_str(authorization)?,
            targets: uris,
            h2: h2s,
            pool: Mutex::new(pool),
        })
    }

    /// POSTs target `index`'s message; the message id, or how it was refused.
    pub async fn submit(
        &self,
        slot: usize,
        index: usize,
        ttl_seconds: u32,
        own: &mut OwnConnection,
    ) -> Result<String, Refused> {
        let (uri, body) = &self.targets[index];
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header("ttl", ttl_seconds)
            .header(header::CONTENT_ENCODING, "aes128gcm")
            .header(header::CONTENT_TYPE, "application/octet-stream");
        if let Some(host) = &self.host {
            request = request.header(header::HOST, host.clone());
        }
        let request = request
            .body(Full::new(body.clone()))
            .map_err(|error| refused("request", error))?;
        let answer = if self.h2.is_empty() {
            let answer = self.send_http1(request, own).await;
            if answer.is_err() {
                own.0 = None;
            }
            answer?
        } else {
            let mut sender = self.h2[slot % self.h2.len()].clone();
            answered(tokio::time::timeout(UNARY_TIMEOUT, sender.send_request(request)).await)?
        };
        let status = answer.status();
        let location = answer.headers().get(header::LOCATION).cloned();
        let body = answer.into_body().collect().await;
        let body = body.map_err(|e| refused("transport", e))?.to_bytes();
        if status != StatusCode::CREATED {
            return Err(Refused {
                kind: format!("HTTP {}", status.as_u16()),
                detail: format!("{status}: {}", String::from_utf8_lossy(&body)),
            });
        }
        match self.ids {
            MessageIds::ResponseBody => serde_json::from_slice::<Created>(&body)
                .map(|created| created.message_id)
                .map_err(|error| refused("HTTP 201 without a message id", error)),
            // A `201` is an accepted message even without a `Location` (which RFC 8030
            // requires): it is then joined by order, never by id.
            MessageIds::Location => Ok(location.as_ref().map(last_segment).unwrap_or_default()),
        }
    }

    /// On the loop's own connection: a pooled one at first, a new one after a failure.
    async fn send_http1(
        &self,
        request: Request<Full<Bytes>>,
        own: &mut OwnConnection,
    ) -> Result<Response<Incoming>, Refused> {
        let pooled = || self.pool.lock().ok().and_then(|mut pool| pool.pop());
        let sender = match own
            .0
            .take()
            .filter(|sender| !sender.is_closed())
            .or_else(pooled)
        {
            Some(sender) => own.0.insert(sender),
            None => {
                let io = tcp_from(self.source, self.server).await;
                let io = io.map_err(|error| refused("connect", error))?;
                let (sender, connection) = http1::handshake(io)
                    .await
                    .map_err(|error| refused("connect", error))?;
                tokio::spawn(connection);
                own.0.insert(sender)
            }
        };
        let sent = tokio::time::timeout(UNARY_TIMEOUT, async {
            sender.ready().await?;
            sender.send_request(request).await
        });
        answered(sent.await)
    }
}

/// `https://host/m/<id>?x` → `<id>`.
fn last_segment(location: &HeaderValue) -> String {
    let text = location.to_str().unwrap_or_default();
    let path = text.split(['?', '#']).next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The part of the `201 Created` body the run needs.
#[derive(serde::Deserialize)]
struct Created {
    message_id: String,
}

type Answer = Result<hyper::Result<Response<Incoming>>, tokio::time::error::Elapsed>;

fn answered(answer: Answer) -> Result<Response<Incoming>, Refused> {
    answer
        .map_err(|error| refused("timeout", error))?
        .map_err(|error| refused("transport", error))
}

fn refused(kind: &str, error: impl std::fmt::Display) -> Refused {
    Refused {
        kind: kind.to_owned(),
        detail: format!("{kind}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_last_segment_of_location() {
        let id = |text: &'static str| last_segment(&HeaderValue::from_static(text));
        assert_eq!(id("http://127.0.0.1:8082/m/gAAAAABk-x_y"), "gAAAAABk-x_y");
        assert_eq!(id("/m/abc?receipt=1"), "abc");
        assert_eq!(id(""), "");
    }
}
