//! A stand-in for Google on loopback, written here because Google's servers
//! cannot be reached from tests: the OAuth2 token endpoint a service account
//! signs in at, and the FCM HTTP v1 `messages:send` endpoint, each answering
//! as Google documents. Each registration token can be given a script of
//! answers; unscripted sends succeed. Every send is recorded.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub const ACCESS_TOKEN: &str = "mock-access-token";

/// One scripted answer of the FCM endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Unregistered,
    TooManyRequests { retry_after_seconds: u64 },
    ServerError,
}

#[derive(Debug, Clone)]
pub struct Send {
    pub at: Instant,
    pub path: String,
    pub authorization: String,
    pub body: Value,
}

impl Send {
    pub fn message(&self) -> &Value {
        &self.body["message"]
    }

    /// The data map, as the app's SDK gets it.
    pub fn data(&self) -> HashMap<String, String> {
        self.message()["data"]
            .as_object()
            .map(|data| {
                data.iter()
                    .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().into()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    refuse_sign_in: bool,
    scripts: HashMap<String, VecDeque<Answer>>,
    sends: Vec<Send>,
    sign_ins: usize,
    /// The token endpoint takes requests and never answers.
    token_silent: bool,
    /// Token requests left hanging so far.
    silent_token_requests: usize,
}

pub struct MockGoogle {
    pub url: String,
    pub service_account: PathBuf,
    state: Arc<Mutex<State>>,
    _dir: tempfile::TempDir,
}

impl MockGoogle {
    /// `refuse_sign_in`: the token endpoint rejects the service account (bad credentials).
    pub async fn start(refuse_sign_in: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            refuse_sign_in,
            ..State::default()
        }));
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let service_account = dir.path().join("service-account.json");
        std::fs::write(&service_account, service_account_json(&url)).expect("write key");
        Self {
            url,
            service_account,
            state,
            _dir: dir,
        }
    }

    pub fn script(&self, token: &str, answers: &[Answer]) {
        self.state
            .lock()
            .expect("lock")
            .scripts
            .insert(token.to_string(), answers.iter().copied().collect());
    }

    pub fn sends(&self) -> Vec<Send> {
        self.state.lock().expect("lock").sends.clone()
    }

    /// From now on the token endpoint never answers (a hung Google).
    pub fn silence_token_endpoint(&self) {
        self.state.lock().expect("lock").token_silent = true;
    }

    /// Token requests the silent endpoint is holding.
    pub fn silent_token_requests(&self) -> usize {
        self.state.lock().expect("lock").silent_token_requests
    }

    pub fn sign_ins(&self) -> usize {
        self.state.lock().expect("lock").sign_ins
    }

    /// Waits until `count` sends arrived (10 s at most).
    pub async fn wait_for_sends(&self, count: usize) -> Vec<Send> {
        for _ in 0..1000 {
            let sends = self.sends();
            if sends.len() >= count {
                return sends;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "FCM mock saw {} sends, expected {count}",
            self.sends().len()
        );
    }

    /// The pushd flags that point its FCM bridge here.
    pub fn pushd_args(&self) -> Vec<String> {
        vec![
            "--fcm-service-account".into(),
            self.service_account.display().to_string(),
            "--fcm-base-url".into(),
            self.url.clone(),
        ]
    }
}

/// A service-account key as the Firebase console issues it, with a fresh
/// RSA key and this mock as `token_uri`.
fn service_account_json(url: &str) -> String {
    let key = openssl::rsa::Rsa::generate(2048).expect("rsa");
    let key = openssl::pkey::PKey::from_rsa(key).expect("pkey");
    let pem = String::from_utf8(key.private_key_to_pem_pkcs8().expect("pem")).expect("utf8");
    json!({
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "mock-key-1",
        "private_key": pem,
        "client_email": "pushd@demo-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "auth_uri": format!("{url}/auth"),
        "token_uri": format!("{url}/token"),
    })
    .to_string()
}

fn reply(status: StatusCode, body: Value, retry_after: Option<u64>) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    response
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn fcm_error(status: StatusCode, code: &str, error_code: &str) -> Value {
    json!({"error": {
        "code": status.as_u16(),
        "message": format!("mock {error_code}"),
        "status": code,
        "details": [{
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": error_code,
        }],
    }})
}

async fn answer(
    state: &Mutex<State>,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    if path == "/token" {
        let silent = {
            let mut state = state.lock().expect("lock");
            state.silent_token_requests += usize::from(state.token_silent);
            state.token_silent
        };
        if silent {
            std::future::pending::<()>().await;
        }
    }
    let mut state = state.lock().expect("lock");
    if path == "/token" {
        state.sign_ins += 1;
        let form = String::from_utf8_lossy(&body);
        if state.refuse_sign_in || !form.contains("assertion=") {
            let refusal =
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."});
            return reply(StatusCode::BAD_REQUEST, refusal, None);
        }
        let token =
            json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3599});
        return reply(StatusCode::OK, token, None);
    }
    if !(path.starts_with("/v1/projects/") && path.ends_with("/messages:send")) {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": "no such path"}),
            None,
        );
    }
    if authorization != format!("Bearer {ACCESS_TOKEN}") {
        let error = fcm_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "THIRD_PARTY_AUTH_ERROR",
        );
        return reply(StatusCode::UNAUTHORIZED, error, None);
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let token = body["message"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    state.sends.push(Send {
        at: Instant::now(),
        path: path.clone(),
        authorization,
        body,
    });
    match state.scripts.get_mut(&token).and_then(VecDeque::pop_front) {
        None => {
            let name = format!(
                "{}/messages/{}",
                &path[4..path.len() - 14],
                state.sends.len()
            );
            reply(StatusCode::OK, json!({"name": name}), None)
        }
        Some(Answer::Unregistered) => reply(
            StatusCode::NOT_FOUND,
            fcm_error(StatusCode::NOT_FOUND, "NOT_FOUND", "UNREGISTERED"),
            None,
        ),
        Some(Answer::TooManyRequests {
            retry_after_seconds,
        }) => reply(
            StatusCode::TOO_MANY_REQUESTS,
            fcm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
            ),
            Some(retry_after_seconds),
        ),
        Some(Answer::ServerError) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            fcm_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "INTERNAL"),
            None,
        ),
    }
}
