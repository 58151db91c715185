//! The operator's health checks on the metrics listener: `/healthz` while
//! the process serves, `/readyz` only while it drains nothing and its store
//! answers. The CQL case runs pushd through a loopback forwarder to the
//! shared node (`PUSHD_TEST_CQL`) and "stops the store" by killing the
//! forwarder, never the node.

mod support;

use std::time::{Duration, Instant};

use support::Pushd;

/// Polls `GET path` until `wanted` says yes or `within` passes; the last answer.
fn poll_until(
    pushd: &Pushd,
    path: &str,
    within: Duration,
    wanted: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        let answer = pushd.get_metrics_listener(path).expect("metrics listener");
        if wanted(answer.0, &answer.1) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn healthz_and_readyz_answer_while_serving() {
    let pushd = Pushd::start(&[]);
    let healthz = pushd.get_metrics_listener("/healthz").expect("healthz");
    assert_eq!(healthz, (200, "ok\n".to_owned()));
    let readyz = pushd.get_metrics_listener("/readyz").expect("readyz");
    assert_eq!(readyz, (200, "ready\n".to_owned()));
    let other = pushd.get_metrics_listener("/ready").expect("404");
    assert_eq!(other.0, 404);
    assert!(other.1.contains("/readyz"), "{}", other.1);
}

#[test]
fn readyz_turns_503_while_draining() {
    let mut pushd = Pushd::start(&["--drain-seconds", "3", "--handshake-timeout-seconds", "30"]);
    // A push whose body is still coming: the drain waits for it (up to
    // drain_seconds), so there is a drain to watch.
    let mut unfinished =
        std::net::TcpStream::connect(pushd.url.trim_start_matches("http://")).expect("connect");
    std::io::Write::write_all(
        &mut unfinished,
        b"POST /push/unfinished HTTP/1.1\r\nHost: pushd\r\nContent-Length: 4096\r\n\r\npartial",
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(200));
    pushd.signal_terminate();
    let (status, reason) = poll_until(&pushd, "/readyz", Duration::from_secs(2), |status, _| {
        status == 503
    });
    assert_eq!(status, 503, "{reason}");
    assert!(reason.starts_with("draining"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "one line: {reason:?}");
    let healthz = pushd.get_metrics_listener("/healthz").expect("healthz");
    assert_eq!(healthz.0, 200, "alive while draining");
    let deadline = Instant::now() + Duration::from_secs(15);
    while pushd.exited().is_none() {
        assert!(
            Instant::now() < deadline,
            "pushd did not exit after its drain"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(unfinished);
}

/// A TCP forwarder on loopback to `target`; dropping it closes the listener
/// and every connection it carries, as a database going away would.
struct Forwarder {
    address: std::net::SocketAddr,
    runtime: tokio::runtime::Runtime,
}

impl Forwarder {
    fn start(target: &str, at: Option<std::net::SocketAddr>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let bind = at.unwrap_or_else(|| "127.0.0.1:0".parse().expect("address"));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(bind))
            .expect("bind the forwarder");
        let address = listener.local_addr().expect("address");
        let target = target.to_owned();
        runtime.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut node) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                    }
                });
            }
        });
        Self { address, runtime }
    }

    /// Closes everything at once: the runtime's shutdown drops every task.
    fn kill(self) -> std::net::SocketAddr {
        self.runtime.shutdown_background();
        self.address
    }
}

#[test]
fn readyz_turns_503_when_the_cql_store_stops_answering() {
    let Some(node) = support::cql::node() else {
        return;
    };
    let forwarder = Forwarder::start(&node, None);
    let store = format!("scylla://{}/pushd_health?rf=1", forwarder.address);
    let pushd = Pushd::start(&["--store", &store]);
    let (status, body) = poll_until(&pushd, "/readyz", Duration::from_secs(5), |status, _| {
        status == 200
    });
    assert_eq!(status, 200, "{body}");

    let address = forwarder.kill();
    let (status, reason) = poll_until(&pushd, "/readyz", Duration::from_secs(15), |status, _| {
        status == 503
    });
    assert_eq!(status, 503, "{reason}");
    assert!(reason.starts_with("store unreachable"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "one line: {reason:?}");
    assert_eq!(
        pushd.get_metrics_listener("/healthz").expect("healthz").0,
        200,
        "alive while its store is away"
    );

    // The store back on the same address: ready again once the driver reconnects.
    let _forwarder = Forwarder::start(&node, Some(address));
    let (status, body) = poll_until(&pushd, "/readyz", Duration::from_secs(60), |status, _| {
        status == 200
    });
    assert_eq!(status, 200, "{body}");
}
