//! Where pushd finds an identity provider's keys: the `jwks_uri` of its
//! OpenID Connect discovery document, unless `oidc_jwks_url` names them.
//! The stand-in provider (tests/support/idp.rs) keeps its keys at a path
//! only its discovery document names, as Google and Keycloak do.

mod support;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use serde_json::json;
use support::Pushd;
use support::idp::{Idp, JWKS_PATH, SigningKey, with_identity};

/// The HTTP status line `url` answers a GET with.
async fn status_line(url: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut connection = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    connection
        .write_all(request.as_bytes())
        .await
        .expect("write");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).await.expect("read");
    answer.lines().next().unwrap_or_default().to_owned()
}

async fn registers(pushd: &Pushd, idp: &Idp, key: &SigningKey) -> Result<String, tonic::Status> {
    let mut client = DeviceClient::connect(pushd.url.clone())
        .await
        .expect("connect");
    let token = idp.token(key, "alice", json!({}));
    client
        .register(with_identity(pb::RegisterRequest {}, &token, None))
        .await
        .map(|reply| reply.into_inner().device_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_found_through_the_discovery_document() {
    let key = SigningKey::new("key-1");
    let idp = Idp::start(&[&key]).await;
    let guessed = format!("{}/.well-known/jwks.json", idp.issuer);
    assert!(
        status_line(&guessed).await.contains("404"),
        "nothing at {guessed}"
    );
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    registers(&pushd, &idp, &key)
        .await
        .expect("a device registers with a token the discovered keys check");
    assert_eq!(idp.fetched(), 1, "the keys at {JWKS_PATH}, read once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_jwks_url_overrides_discovery() {
    let key = SigningKey::new("key-1");
    let idp = Idp::start(&[&key]).await;
    // Discovery would refuse this document; the override never reads it.
    idp.discover_as("https://impostor.example.com");
    let mut args = idp.pushd_args();
    args.extend(["--oidc-jwks-url".to_owned(), idp.jwks_url()]);
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    registers(&pushd, &idp, &key)
        .await
        .expect("the keys at oidc_jwks_url check the token");
}

#[test]
fn a_discovery_document_naming_another_issuer_stops_pushd() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let idp = runtime.block_on(Idp::start(&[&SigningKey::new("key-1")]));
    idp.discover_as("https://impostor.example.com");
    let args = idp.pushd_args();
    let stderr =
        support::process::refused_start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        stderr.contains("names the issuer \"https://impostor.example.com\"")
            && stderr.contains("oidc_issuer"),
        "{stderr}"
    );
}
