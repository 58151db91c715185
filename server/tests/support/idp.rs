//! A stand-in identity provider on loopback: RSA signing keys published as
//! a JWKS document over HTTP, and ID tokens signed with them, as an OpenID
//! Connect provider (Firefox Accounts, Keycloak, …) issues them. Like
//! Google's and Keycloak's, its keys are not at `/.well-known/jwks.json`:
//! only its discovery document says where.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::Response;
use hyper::body::{Bytes, Frame};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openssl::rsa::Rsa;
use serde_json::json;

pub const AUDIENCE: &str = "pushd-test-client";
/// Where the keys are, named only in the discovery document.
pub const JWKS_PATH: &str = "/protocol/openid-connect/certs";
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    jwk: serde_json::Value,
}

impl SigningKey {
    pub fn new(kid: &str) -> Self {
        let rsa = Rsa::generate(2048).expect("rsa key");
        let b64 = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(rsa.n().to_vec()), "e": b64(rsa.e().to_vec()),
        });
        let pem = rsa.private_key_to_pem().expect("pem");
        Self {
            kid: kid.into(),
            encoding: EncodingKey::from_rsa_pem(&pem).expect("encoding key"),
            jwk,
        }
    }
}

/// How the stand-in answers a JWKS fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksMode {
    /// The published keys.
    Serve,
    /// 503, as a provider in an outage.
    Fail,
    /// Headers at once, then a space every 100 ms, forever: a body that is
    /// valid JSON so far and never ends.
    Dribble,
    /// The published keys padded with 2 MiB of spaces: valid JSON, absurd size.
    Oversized,
}

pub struct Idp {
    pub issuer: String,
    published: Arc<Mutex<Vec<serde_json::Value>>>,
    /// JWKS fetches (discovery document reads are not counted).
    pub fetches: Arc<Mutex<usize>>,
    mode: Arc<Mutex<JwksMode>>,
    /// The `issuer` the discovery document names (the real one unless a test changes it).
    discovered_issuer: Arc<Mutex<String>>,
}

/// What the stand-in serves at each path.
#[derive(Clone)]
struct Served {
    keys: Arc<Mutex<Vec<serde_json::Value>>>,
    fetches: Arc<Mutex<usize>>,
    mode: Arc<Mutex<JwksMode>>,
    issuer: String,
    discovered_issuer: Arc<Mutex<String>>,
}

impl Served {
    fn answer(&self, path: &str) -> Answer {
        match path {
            DISCOVERY_PATH => {
                let document = json!({
                    "issuer": *self.discovered_issuer.lock().expect("lock"),
                    "jwks_uri": format!("{}{JWKS_PATH}", self.issuer),
                    "id_token_signing_alg_values_supported": ["RS256"],
                });
                Response::new(Full::new(Bytes::from(document.to_string())).boxed_unsync())
            }
            JWKS_PATH => {
                *self.fetches.lock().expect("lock") += 1;
                let mode = *self.mode.lock().expect("lock");
                answer(mode, &self.keys.lock().expect("lock"))
            }
            _ => {
                let mut response = Response::new(Full::new(Bytes::new()).boxed_unsync());
                *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                response
            }
        }
    }
}

type Answer = Response<UnsyncBoxBody<Bytes, Infallible>>;

fn answer(mode: JwksMode, keys: &[serde_json::Value]) -> Answer {
    let document = json!({ "keys": keys }).to_string();
    let body = match mode {
        JwksMode::Serve => Full::new(Bytes::from(document)).boxed_unsync(),
        JwksMode::Fail => {
            let mut response = Response::new(Full::new(Bytes::new()).boxed_unsync());
            *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
            return response;
        }
        JwksMode::Dribble => StreamBody::new(futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from_static(b" "))),
                (),
            ))
        }))
        .boxed_unsync(),
        JwksMode::Oversized => {
            let padded = format!("{}{document}", " ".repeat(2 << 20));
            Full::new(Bytes::from(padded)).boxed_unsync()
        }
    };
    Response::new(body)
}

impl Idp {
    /// Serves `keys` at [`JWKS_PATH`], named in its discovery document.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let published: Arc<Mutex<Vec<_>>> =
            Arc::new(Mutex::new(keys.iter().map(|key| key.jwk.clone()).collect()));
        let served = Served {
            keys: published.clone(),
            fetches: Arc::new(Mutex::new(0)),
            mode: Arc::new(Mutex::new(JwksMode::Serve)),
            issuer: issuer.clone(),
            discovered_issuer: Arc::new(Mutex::new(issuer.clone())),
        };
        let (fetches, mode) = (served.fetches.clone(), served.mode.clone());
        let discovered_issuer = served.discovered_issuer.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let served = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let response = served.answer(request.uri().path());
                            async move { Ok::<_, Infallible>(response) }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            issuer,
            published,
            fetches,
            mode,
            discovered_issuer,
        }
    }

    /// Where the keys are, as `oidc_jwks_url` would name them.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.issuer)
    }

    /// The discovery document names this issuer from now on.
    pub fn discover_as(&self, issuer: &str) {
        *self.discovered_issuer.lock().expect("lock") = issuer.into();
    }

    /// JWKS fetches answered so far.
    pub fn fetched(&self) -> usize {
        *self.fetches.lock().expect("lock")
    }

    /// Answers later fetches so.
    pub fn set_mode(&self, mode: JwksMode) {
        *self.mode.lock().expect("lock") = mode;
    }

    /// Rotates: the provider starts publishing `key` too.
    pub fn publish(&self, key: &SigningKey) {
        self.published.lock().expect("lock").push(key.jwk.clone());
    }

    pub fn pushd_args(&self) -> Vec<String> {
        vec![
            "--oidc-issuer".into(),
            self.issuer.clone(),
            "--oidc-audience".into(),
            AUDIENCE.into(),
        ]
    }

    /// A token for `subject`, valid for an hour unless `claims` says otherwise.
    pub fn token(&self, key: &SigningKey, subject: &str, claims: serde_json::Value) -> String {
        let now = super::raw::now_secs();
        let mut body = json!({
            "iss": self.issuer, "aud": AUDIENCE, "sub": subject,
            "iat": now, "exp": now + 3600,
        });
        if let (Some(body), Some(overrides)) = (body.as_object_mut(), claims.as_object()) {
            for (name, value) in overrides {
                body.insert(name.clone(), value.clone());
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &body, &key.encoding).expect("sign")
    }
}

/// `message` with an identity token and, once registered, the device id.
pub fn with_identity<T>(message: T, token: &str, device_id: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    if let Some(device_id) = device_id {
        metadata.insert("push-device", device_id.parse().expect("ascii"));
    }
    request
}
