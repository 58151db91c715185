//! Talking RFC 8030 to the real pushd the way site backends do: `curl` for
//! raw requests, and real web-push libraries (pywebpush, npm `web-push`,
//! `webpush-go`, Java `nl.martijndwars:web-push`) through the small sender
//! programs in `scripts/interop/webpush/`, which `install.sh` builds into
//! the folder named by `PUSH_TEST_WEBPUSH` (the test command sets it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;

use super::raw::{Subscribed, push_sdk_b64};

/// An HTTP answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The JSON body's `message`, which says what to change.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no JSON message in {self:?}"))
    }
}

/// One request with curl. `version` is a curl flag (`--http1.1`,
/// `--http2`, `--http2-prior-knowledge`); `body` goes as binary data.
pub fn curl(
    method: &str,
    url: &str,
    version: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    ca: Option<&Path>,
) -> Answer {
    let folder = tempfile::tempdir().expect("temp dir");
    let (head, out) = (folder.path().join("head"), folder.path().join("body"));
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "20", version, "-X", method])
        .arg("-D")
        .arg(&head)
        .arg("-o")
        .arg(&out)
        .args(["-w", "%{http_code}"]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(body) = body {
        let file = folder.path().join("request");
        std::fs::write(&file, body).expect("write body");
        command
            .arg("--data-binary")
            .arg(format!("@{}", file.display()));
    }
    if let Some(ca) = ca {
        command.arg("--cacert").arg(ca);
    }
    let output = command.arg(url).output().expect("run curl");
    assert!(
        output.status.success(),
        "curl {method} {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("status");
    let headers = std::fs::read_to_string(&head)
        .expect("headers")
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let body = std::fs::read_to_string(&out).unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// A VAPID key pair as web-push libraries take it: base64url raw
/// uncompressed public point and raw private scalar.
pub struct RawVapid {
    pub public: Vec<u8>,
    pub public_b64: String,
    pub private_b64: String,
}

impl RawVapid {
    pub fn generate() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let key = EcKey::generate(&group).expect("key");
        let mut context = BigNumContext::new().expect("bn");
        let public = key
            .public_key()
            .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut context)
            .expect("public");
        let private = key.private_key().to_vec_padded(32).expect("private");
        Self {
            public_b64: push_sdk_b64(&public),
            private_b64: push_sdk_b64(&private),
            public,
        }
    }
}

/// The folder with the sender programs, or None (with a note) when the
/// libraries are not installed: `scripts/test.sh` always installs them.
pub fn library_folder() -> Option<PathBuf> {
    match std::env::var_os("PUSH_TEST_WEBPUSH") {
        Some(folder) => Some(PathBuf::from(folder)),
        None => {
            eprintln!(
                "skipped: PUSH_TEST_WEBPUSH is not set (scripts/test.sh installs the web-push libraries and sets it)"
            );
            None
        }
    }
}

/// What a library's sender program saw.
#[derive(Debug, serde::Deserialize)]
pub struct LibraryAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub ttl: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

/// Sends one message with `library` (`python`, `node`, `go`, `java`).
pub fn library_send(
    folder: &Path,
    library: &str,
    endpoint: &str,
    subscription: &Subscribed,
    vapid: &RawVapid,
    payload: Payload<'_>,
    ca: Option<&Path>,
) -> LibraryAnswer {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("subscription.json");
    let json = serde_json::json!({
        "endpoint": endpoint,
        "keys": {
            "p256dh": push_sdk_b64(subscription.keys.public_key()),
            "auth": push_sdk_b64(subscription.keys.auth_secret()),
        }
    });
    std::fs::write(&file, json.to_string()).expect("write subscription");
    let mut command = Command::new(folder.join(format!("send-{library}")));
    command
        .arg("--subscription")
        .arg(&file)
        // `=`: a base64url key may start with `-`, which a parser would read as an option.
        .arg(format!("--vapid-public={}", vapid.public_b64))
        .arg(format!("--vapid-private={}", vapid.private_b64))
        .args(["--subject", "mailto:ops@example.com", "--ttl", "600"]);
    match payload {
        Payload::Text(text) => command.args(["--payload", text]),
        Payload::Size(size) => command.args(["--payload-size", &size.to_string()]),
    };
    if let Some(ca) = ca {
        command.arg("--ca").arg(ca);
    }
    let output = command.output().expect("run the sender program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "send-{library} got no HTTP answer: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("send-{library} printed {line:?}: {error}"))
}

pub enum Payload<'a> {
    Text(&'a str),
    /// That many bytes of plaintext.
    Size(usize),
}
