//! TLS on the public listener: the real pushd with a certificate from a
//! throw-away CA. `pushctl` (the Rust SDK) registers, subscribes, listens and
//! sends over TLS trusting that CA the standard way (`SSL_CERT_FILE`); a
//! plaintext client and a client that does not trust the CA are refused.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use support::Pushd;
use support::tls::TestCa;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// pushctl is built beside pushd by `cargo build --workspace` (the test command does).
fn pushctl() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_pushd")).with_file_name("pushctl");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

fn run(ca: &TestCa, args: &[&str]) -> String {
    let output = Command::new(pushctl())
        .args(args)
        .env("SSL_CERT_FILE", &ca.ca_file)
        .output()
        .expect("run pushctl");
    assert!(
        output.status.success(),
        "pushctl {}: {}",
        args[0],
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn start(folder: &std::path::Path, ca: &TestCa) -> (Pushd, String) {
    let cert = ca.cert_file.to_str().expect("path");
    let key = ca.key_file.to_str().expect("path");
    let pushd = Pushd::start_in(
        &folder.join("data"),
        &["--tls-cert-file", cert, "--tls-key-file", key],
    );
    let url = pushd.url.replacen("http://", "https://", 1);
    (pushd, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_talks_to_pushd_over_tls() {
    let folder = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(folder.path());
    let (_pushd, url) = start(folder.path(), &ca);
    let db = folder.path().join("device.db");
    let db = db.to_str().expect("path");
    run(&ca, &["register", "--server", &url, "--db", db]);
    let subscription = run(&ca, &["subscribe", "--db", db]);
    assert!(
        subscription.contains(&format!("\"endpoint\":\"{url}/push/")),
        "endpoints are https: {subscription}"
    );
    let mut listener = Command::new(pushctl())
        .args(["listen", "--db", db])
        .env("SSL_CERT_FILE", &ca.ca_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("listen");
    let vapid = folder.path().join("vapid.pem");
    let vapid = vapid.to_str().expect("path");
    run(&ca, &["keygen", "--out", vapid]);
    let sent = run(
        &ca,
        &[
            "send",
            "--server",
            &url,
            "--key",
            vapid,
            "--subject",
            "mailto:ops@example.com",
            "--subscription",
            subscription.trim(),
            "over TLS",
        ],
    );
    assert!(sent.contains("\"outcome\""), "{sent}");
    let mut lines = BufReader::new(listener.stdout.take().expect("stdout")).lines();
    let line = lines.next().expect("a message").expect("read");
    assert!(line.contains("\"payload\":\"over TLS\""), "{line}");
    let _ = listener.kill();
    let _ = listener.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_tls_or_without_the_ca_are_refused() {
    let folder = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(folder.path());
    let (pushd, url) = start(folder.path(), &ca);

    let register = |channel: Channel| async move {
        let mut client = DeviceClient::new(channel);
        tokio::time::timeout(
            Duration::from_secs(10),
            client.register(pb::RegisterRequest {}),
        )
        .await
        .expect("answered in time")
    };
    let plaintext = Channel::from_shared(pushd.url.clone())
        .expect("url")
        .connect_lazy();
    assert!(
        register(plaintext).await.is_err(),
        "plaintext HTTP/2 refused"
    );

    let untrusting = Channel::from_shared(url.clone())
        .expect("url")
        .tls_config(ClientTlsConfig::new())
        .expect("tls")
        .connect_lazy();
    assert!(
        register(untrusting).await.is_err(),
        "a certificate from an unknown CA is refused"
    );

    let trusting = Channel::from_shared(url)
        .expect("url")
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.ca_pem())))
        .expect("tls")
        .connect_lazy();
    let registered = register(trusting).await.expect("trusted TLS works");
    assert!(!registered.into_inner().device_id.is_empty());
}

#[test]
fn pushd_refuses_to_start_with_half_or_broken_tls_settings() {
    let folder = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(folder.path());
    let cert = ca.cert_file.to_str().expect("path");
    let attempt = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_pushd"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "off",
                "--data-dir",
            ])
            .arg(folder.path().join("data"))
            .args(args)
            .output()
            .expect("run pushd");
        assert!(!output.status.success(), "pushd must refuse {args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(attempt(&["--tls-cert-file", cert]).contains("tls_key_file"));
    assert!(
        attempt(&["--tls-cert-file", cert, "--tls-key-file", cert]).contains("no PEM private key")
    );
    let missing = folder.path().join("missing.key");
    assert!(
        attempt(&[
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            missing.to_str().expect("path")
        ])
        .contains("missing.key")
    );
}

/// Firefox's `dom.push.serverURL = wss://…`: the WebSocket push protocol over
/// pushd's own TLS, on the same port (ALPN `http/1.1`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_push_protocol_runs_over_tls() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_rustls::rustls::{self, pki_types};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let folder = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(folder.path());
    let (_pushd, url) = start(folder.path(), &ca);
    let address = url.trim_start_matches("https://").to_owned();
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = std::fs::read(&ca.ca_file).expect("ca");
    for cert in pki_types::pem::PemObject::pem_slice_iter(&ca_pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(&address).await.expect("tcp");
    let name = pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let mut request = format!("wss://{address}/")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "push-notification".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("upgrade over TLS");
    let hello = r#"{"messageType":"hello","uaid":"","use_webpush":true}"#;
    socket.send(Message::text(hello)).await.expect("send");
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("a reply in time");
    let Some(Ok(Message::Text(reply))) = reply else {
        panic!("expected the hello reply, got {reply:?}");
    };
    let reply: serde_json::Value = serde_json::from_str(reply.as_str()).expect("JSON");
    assert_eq!(reply["status"], 200);
    assert!(reply["uaid"].as_str().is_some_and(|uaid| !uaid.is_empty()));
}
