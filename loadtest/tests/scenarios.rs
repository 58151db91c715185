//! Every scenario end to end, at toy sizes, against a real pushd running inside this test
//! process (so this process's pid is the server pid). These prove that the coordinator, its
//! worker processes and the figures fit together; they say nothing about speed.
use std::time::Duration;

use pushd::config::Overrides;
use serde_json::Value;

/// A whole scenario, setup included, must finish well within this.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Serves pushd in this process on a loopback port bound here (connections wait in its
/// backlog until it serves); it stops when the test's runtime ends.
async fn start_pushd(data_dir: &std::path::Path) -> String {
    serve_pushd(Overrides {
        metrics_listen: Some("off".into()),
        data_dir: Some(data_dir.to_path_buf()),
        log: Some("warn".into()),
        ..Overrides::default()
    })
    .await
}

async fn serve_pushd(flags: Overrides) -> String {
    let settings = pushd::Settings::resolve(flags, Overrides::default()).expect("settings");
    let public = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", public.local_addr().expect("address"));
    let listeners = pushd::Listeners {
        public,
        metrics: None,
        cluster: None,
    };
    tokio::spawn(pushd::serve(settings, listeners, std::future::pending()));
    url
}

/// A run's summary says every accepted message reached its device.
fn assert_every_message_arrived(run: &Value) {
    let accepted = run["accepted"].as_u64().expect("accepted");
    assert!(accepted > 50, "{run}");
    assert_eq!(run["delivered"].as_u64(), Some(accepted), "{run}");
    assert_eq!(run["missing"].as_u64(), Some(0), "{run}");
}

/// Runs the `loadtest` binary with `args` and parses its JSON summary.
async fn loadtest(args: &[&str]) -> Value {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .arg("--json")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCENARIO_TIMEOUT, run)
        .await
        .expect("loadtest finished in time")
        .expect("loadtest ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "loadtest {args:?} failed:\n{stderr}"
    );
    serde_json::from_slice(&output.stdout).expect("one JSON summary on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_against_a_real_server() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let url = start_pushd(data_dir.path()).await;
    let pid = std::process::id().to_string();

    let throughput = loadtest(&[
        "throughput",
        "--server",
        &url,
        "--server-pid",
        &pid,
        "--devices",
        "20",
        "--workers",
        "2",
        "--duration",
        "1",
        "--rate",
        "200",
        "--grace",
        "5",
    ])
    .await;
    assert_every_message_arrived(&throughput);
    assert!(
        throughput["end_to_end_p99_ms"].as_f64() > Some(0.0),
        "{throughput}"
    );
    assert!(
        throughput["server_cpu_us_per_msg"].as_f64() > Some(0.0),
        "{throughput}"
    );

    // The same run with RFC 8030 submissions: every message POSTed to its endpoint URL.
    for over in ["http1", "http2"] {
        let http = loadtest(&[
            "throughput",
            "--server",
            &url,
            "--devices",
            "20",
            "--duration",
            "1",
            "--rate",
            "200",
            "--window",
            "8",
            "--submit-over",
            over,
        ])
        .await;
        let accepted = http["accepted"].as_u64().expect("accepted");
        assert!(accepted > 50, "{http}");
        assert_eq!(http["delivered"].as_u64(), Some(accepted), "{http}");
        assert_eq!(http["submit_errors"], serde_json::json!({}), "{http}");
        assert_eq!(http["submit_over"], over, "{http}");
    }

    // Devices on the WebSocket push protocol (what Firefox speaks): every message arrives.
    let websocket = loadtest(&[
        "throughput",
        "--server",
        &url,
        "--devices",
        "20",
        "--duration",
        "1",
        "--rate",
        "200",
        "--grace",
        "5",
        "--devices-over",
        "websocket",
    ])
    .await;
    assert_every_message_arrived(&websocket);

    let idle = loadtest(&[
        "idle",
        "--server",
        &url,
        "--server-pid",
        &pid,
        "--devices",
        "30",
        "--workers",
        "2",
        "--settle",
        "0",
    ])
    .await;
    assert_eq!(idle["devices"].as_u64(), Some(30), "{idle}");
    assert!(
        idle["server_rss_connected_mib"].as_f64() > Some(0.0),
        "{idle}"
    );

    let drain = loadtest(&[
        "drain",
        "--server",
        &url,
        "--messages",
        "300",
        "--rounds",
        "2",
    ])
    .await;
    assert!(
        drain["last_message_ms_median"].as_f64() > Some(0.0),
        "{drain}"
    );
}

/// The standard-only mode against pushd: devices that register themselves over the
/// WebSocket (no uaid in hello, a channel restricted to the sender's key), RFC 8030 POSTs to
/// their endpoints, and a drain through a returning hello. Every message must arrive once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webpush_mode_runs_against_a_real_server() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    // Every device registers itself over the WebSocket from one address, as a server behind
    // a proxy would see it; pushd's per-address registration budget would stop that.
    let url = serve_pushd(Overrides {
        metrics_listen: Some("off".into()),
        data_dir: Some(data_dir.path().to_path_buf()),
        log: Some("warn".into()),
        register_rate_per_ip: Some(0),
        ..Overrides::default()
    })
    .await;
    let ws_url = url.replace("http://", "ws://") + "/";
    let pid = std::process::id().to_string();

    for over in ["http1", "http2"] {
        let run = loadtest(&[
            "throughput",
            "--server",
            &ws_url,
            "--server-pid",
            &pid,
            "--devices-over",
            "webpush",
            "--submit-over",
            over,
            "--devices",
            "20",
            "--workers",
            "2",
            "--duration",
            "1",
            "--rate",
            "200",
            "--window",
            "8",
            "--grace",
            "5",
        ])
        .await;
        assert_every_message_arrived(&run);
        assert_eq!(run["duplicates"].as_u64(), Some(0), "{run}");
        assert_eq!(run["unknown_ids"].as_u64(), Some(0), "{run}");
        assert_eq!(run["submit_errors"], serde_json::json!({}), "{run}");
        // pushd's Location names a sealed handle, not the version its devices see.
        assert_eq!(run["latency_join"], "device_order", "{run}");
    }

    let drain = loadtest(&[
        "drain",
        "--server",
        &ws_url,
        "--devices-over",
        "webpush",
        "--messages",
        "50",
        "--rounds",
        "1",
    ])
    .await;
    for (figure, expected) in [
        ("posted", 50),
        ("arrived", 50),
        ("missing", 0),
        ("duplicates", 0),
        ("unknown_ids", 0),
        ("redelivered_after_reconnect", 0),
        ("rounds_complete", 1),
    ] {
        assert_eq!(drain[figure].as_u64(), Some(expected), "{figure}: {drain}");
    }

    let idle = loadtest(&[
        "idle",
        "--server",
        &url,
        "--server-pid",
        &pid,
        "--devices-over",
        "webpush",
        "--devices",
        "10",
        "--settle",
        "0",
    ])
    .await;
    assert_eq!(idle["devices"].as_u64(), Some(10), "{idle}");
}
