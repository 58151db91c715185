//! Interop with implementations we did not write: PyPI `http_ece` (RFC 8291) and
//! `cryptography` (ES256), via `tests/interop/http_ece_peer.py`.
//!
//! The interpreter comes from `PUSH_TEST_PYTHON` (default `python3`). A missing interpreter
//! or package fails the test with the install command; it never passes silently.
use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_sdk::crypto;
use push_sdk::vapid::VapidKey;
use serde_json::{Value, json};

const INSTALL_HINT: &str = "run `pip install -r sdk-rust/tests/interop/requirements.txt` (or point PUSH_TEST_PYTHON at an interpreter that has them)";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("peer returns strings"))
        .expect("peer returns base64url")
}

/// Runs one peer command and returns its JSON answer.
fn peer(command: &str, request: Value) -> Value {
    let python = std::env::var("PUSH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/http_ece_peer.py"
    );
    let mut child = Command::new(&python)
        .arg(script)
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("cannot run Python interpreter {python:?} ({err}); {INSTALL_HINT}")
        });
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.to_string().as_bytes())
        .expect("write request to peer");
    let output = child.wait_with_output().expect("wait for peer");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "Python interop dependencies missing ({}); {INSTALL_HINT}",
            stderr.trim()
        ),
        _ => panic!(
            "python peer `{command}` failed ({}): {stderr}",
            output.status
        ),
    }
    serde_json::from_slice(&output.stdout).expect("peer prints JSON")
}

#[test]
fn python_peer_is_available() {
    let versions = peer("check", json!({}));
    eprintln!("python interop peer: {versions}");
}

#[test]
fn rust_encrypts_python_decrypts() {
    let keys = crypto::generate_subscription_keys().unwrap();
    for plaintext in [
        &b"hi"[..],
        "h\u{e9}llo, w\u{f6}rld".as_bytes(),
        &[0u8; 300],
        &vec![b'z'; crypto::MAX_PLAINTEXT_LEN],
    ] {
        let body = crypto::encrypt(keys.public_key(), keys.auth_secret(), plaintext).unwrap();
        let answer = peer(
            "decrypt",
            json!({"private_key": b64(keys.private_key()), "auth": b64(keys.auth_secret()), "body": b64(&body)}),
        );
        assert_eq!(unb64(&answer["plaintext"]), plaintext);
    }
}

#[test]
fn python_encrypts_rust_decrypts() {
    let keys = crypto::generate_subscription_keys().unwrap();
    for plaintext in [&b"hi"[..], &[7u8; 1000][..]] {
        let answer = peer(
            "encrypt",
            json!({"p256dh": b64(keys.public_key()), "auth": b64(keys.auth_secret()), "plaintext": b64(plaintext)}),
        );
        let decrypted = crypto::decrypt(&keys, &unb64(&answer["body"])).unwrap();
        assert_eq!(decrypted, plaintext);
    }
}

#[test]
fn python_verifies_vapid_jwt() {
    let key = VapidKey::generate().unwrap();
    let other = VapidKey::generate().unwrap();
    let jwt = key
        .sign(
            "https://push.example.net",
            "mailto:ops@example.com",
            1_900_000_000,
        )
        .unwrap();
    let answer = peer(
        "verify-jwt",
        json!({"jwt": jwt, "public_key": key.public_key_b64()}),
    );
    assert_eq!(answer["valid"], json!(true), "{answer}");
    assert_eq!(answer["header"], json!({"typ": "JWT", "alg": "ES256"}));
    assert_eq!(
        answer["claims"],
        json!({"aud": "https://push.example.net", "exp": 1_900_000_000u64, "sub": "mailto:ops@example.com"})
    );
    let answer = peer(
        "verify-jwt",
        json!({"jwt": jwt, "public_key": other.public_key_b64()}),
    );
    assert_eq!(answer["valid"], json!(false));
}
