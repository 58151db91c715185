//! A stand-in identity provider on loopback: RSA signing keys published as
//! a JWKS document over HTTP, and ID tokens signed with them, as an OpenID
//! Connect provider (Firefox Accounts, Keycloak, …) issues them.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openssl::rsa::Rsa;
use serde_json::json;

pub const AUDIENCE: &str = "pushd-test-client";

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

pub struct Idp {
    pub issuer: String,
    published: Arc<Mutex<Vec<serde_json::Value>>>,
    pub fetches: Arc<Mutex<usize>>,
}

impl Idp {
    /// Serves `keys` at `<issuer>/.well-known/jwks.json`.
    pub async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let published = Arc::new(Mutex::new(keys.iter().map(|key| key.jwk.clone()).collect()));
        let fetches = Arc::new(Mutex::new(0));
        let (serving, counting) = (published.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (keys, count) = (serving.clone(), counting.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_request| {
                        *count.lock().expect("lock") += 1;
                        let body = json!({ "keys": *keys.lock().expect("lock") }).to_string();
                        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
                    });
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
        }
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
