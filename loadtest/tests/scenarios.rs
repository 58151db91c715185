//! Every scenario end to end, at toy sizes, against a real pushd running inside this test
//! process (so this process's pid is the server pid). These prove that the coordinator, its
//! worker processes and the figures fit together; they say nothing about speed.
use std::time::Duration;

use pushd::config::Overrides;
use serde_json::Value;

/// A whole scenario, setup included, must finish well within this.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts pushd in this process on a free loopback port; it stops when the test's runtime ends.
async fn start_pushd(data_dir: &std::path::Path) -> String {
    // Port 0 would hide the address in a log line; asking the OS for a free port is simpler.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|probe| probe.local_addr())
        .expect("a free port")
        .port();
    let flags = Overrides {
        listen: Some(([127, 0, 0, 1], port).into()),
        metrics_listen: Some("off".into()),
        data_dir: Some(data_dir.to_path_buf()),
        log: Some("warn".into()),
        ..Overrides::default()
    };
    let settings = pushd::Settings::resolve(flags, Overrides::default()).expect("settings");
    tokio::spawn(pushd::run(settings, std::future::pending()));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return format!("http://127.0.0.1:{port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("pushd did not start listening on port {port}");
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
    let accepted = throughput["accepted"].as_u64().expect("accepted");
    assert!(accepted > 50, "{throughput}");
    assert_eq!(
        throughput["delivered"].as_u64(),
        Some(accepted),
        "{throughput}"
    );
    assert_eq!(throughput["missing"].as_u64(), Some(0), "{throughput}");
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
    let accepted = websocket["accepted"].as_u64().expect("accepted");
    assert!(accepted > 50, "{websocket}");
    assert_eq!(
        websocket["delivered"].as_u64(),
        Some(accepted),
        "{websocket}"
    );
    assert_eq!(websocket["missing"].as_u64(), Some(0), "{websocket}");

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
