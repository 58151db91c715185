//! What a caller can make pushd ask of the identity provider, on the real
//! pushd with a stand-in provider on loopback: during an outage every
//! device call shares one fetch per interval, and a provider that dribbles
//! its keys, or answers megabytes, is cut off.

mod support;

use std::time::Duration;

use push_proto::v1::{self as pb, device_client::DeviceClient};
use serde_json::json;
use support::Pushd;
use support::idp::{Idp, JwksMode, SigningKey, with_identity};
use tonic::Code;

/// Past the spacing of fetches (5 s) since the last one.
const PAST_REFETCH_SPACING: Duration = Duration::from_millis(5200);
const CALLS: usize = 16;

/// `CALLS` Register calls at once with `token`: the codes they got.
async fn register_all_at_once(pushd: &Pushd, token: &str) -> Vec<Code> {
    let client = DeviceClient::connect(pushd.url.clone())
        .await
        .expect("connect");
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let (mut client, token) = (client.clone(), token.to_owned());
            tokio::spawn(async move {
                client
                    .register(with_identity(pb::RegisterRequest {}, &token, None))
                    .await
            })
        })
        .collect();
    let mut codes = Vec::new();
    for call in calls {
        let answer = call.await.expect("call task");
        codes.push(answer.map_or_else(|status| status.code(), |_| Code::Ok));
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_costs_the_provider_one_fetch_per_interval_not_one_per_call() {
    let (key, rotated) = (SigningKey::new("key-1"), SigningKey::new("key-2"));
    let idp = Idp::start(&[&key]).await;
    let args = idp.pushd_args();
    let pushd = Pushd::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    idp.set_mode(JwksMode::Fail);
    tokio::time::sleep(PAST_REFETCH_SPACING).await;
    let before = idp.fetched();

    // A key pushd does not hold: each call would want the provider asked.
    let token = idp.token(&rotated, "alice", json!({}));
    let mut codes = register_all_at_once(&pushd, &token).await;
    codes.extend(register_all_at_once(&pushd, &token).await);
    let fetches = idp.fetched() - before;
    assert!(
        fetches <= 3,
        "{} calls during an outage made {fetches} fetches",
        2 * CALLS
    );
    assert!(
        codes.iter().all(|code| *code == Code::Unavailable),
        "a provider outage is UNAVAILABLE (retry), not a bad token: {codes:?}"
    );

    // The outage over, the next ask after the spacing finds the new key.
    idp.set_mode(JwksMode::Serve);
    idp.publish(&rotated);
    tokio::time::sleep(PAST_REFETCH_SPACING).await;
    let codes = register_all_at_once(&pushd, &token).await;
    assert!(codes.iter().all(|code| *code == Code::Ok), "{codes:?}");
}

/// Runs pushd against `idp` until it exits (at most 40 s): its stderr.
async fn startup_failure(idp: &Idp) -> String {
    let folder = tempfile::tempdir().expect("temp dir");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pushd"))
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "off"])
        .args(idp.pushd_args())
        .arg("--data-dir")
        .arg(folder.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pushd");
    let output = tokio::time::timeout(Duration::from_secs(40), child.wait_with_output())
        .await
        .expect("pushd did not exit within 40 s: still fetching the keys, or started with them")
        .expect("pushd output");
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_dribbles_its_keys_is_cut_off_at_the_deadline() {
    let idp = Idp::start(&[&SigningKey::new("key-1")]).await;
    idp.set_mode(JwksMode::Dribble);
    let stderr = startup_failure(&idp).await;
    assert!(
        stderr.contains("certs took over") && stderr.contains("body"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_document_of_megabytes_is_refused() {
    let idp = Idp::start(&[&SigningKey::new("key-1")]).await;
    idp.set_mode(JwksMode::Oversized);
    let stderr = startup_failure(&idp).await;
    assert!(stderr.contains("certs answered over 1 MiB"), "{stderr}");
}
