//! One message sent through two cluster nodes is one OpenTelemetry trace:
//! a stand-in collector (`scripts/interop/otlp/trace_receiver.py`, on the
//! protocol's own Python packages) receives the spans both nodes export
//! over OTLP, and they share one trace id, with the sending node's spans
//! and the streaming node's told apart by their resource.
//!
//! Needs a CQL node (`PUSHD_TEST_CQL`; nodes route only on a shared store)
//! and a Python with `scripts/interop/requirements.txt` in `PUSH_TEST_PYTHON`;
//! without either it skips, as `scripts/test.sh` never does.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use push_proto::v1 as pb;
use serde_json::Value;
use support::Pushd;
use support::raw::{RawDevice, Senders};

const SECRET: &str = "test-cluster-secret-0123456789";
const PUBLIC_URL: &str = "http://push.test";
/// The batch processor exports every 5 s; the ack's spans come last.
const SPANS_WITHIN: Duration = Duration::from_secs(30);

/// The receiver process and every span it printed so far.
struct Collector {
    child: Child,
    port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    fn start(python: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/interop/otlp/trace_receiver.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {python} {script}: {error}"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port = first
            .strip_prefix("listening ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "the receiver said {first:?}; pip install -r scripts/interop/requirements.txt"
                )
            });
        let spans = Arc::new(Mutex::new(Vec::new()));
        let collected = spans.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let span = serde_json::from_str(&line).expect("the receiver prints JSON");
                collected.lock().expect("spans").push(span);
            }
        });
        Self { child, port, spans }
    }

    /// The spans of the trace `message_id`'s `route` span is in, once
    /// every name in `expected` is among them (or whatever came by then).
    async fn trace_of(&self, message_id: &str, expected: &[&str]) -> Vec<Value> {
        let deadline = Instant::now() + SPANS_WITHIN;
        loop {
            let spans = self.spans.lock().expect("spans").clone();
            let trace_id = spans
                .iter()
                .find(|span| {
                    span["name"] == "route" && span["attributes"]["message_id"] == message_id
                })
                .map(|span| span["trace_id"].clone());
            let trace: Vec<Value> = spans
                .into_iter()
                .filter(|span| trace_id.as_ref() == Some(&span["trace_id"]))
                .collect();
            let names: BTreeSet<&str> = trace
                .iter()
                .filter_map(|span| span["name"].as_str())
                .collect();
            if expected.iter().all(|name| names.contains(name)) || Instant::now() > deadline {
                return trace;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_message_through_two_nodes_is_one_trace() {
    let Some(cql) = support::cql::node() else {
        return;
    };
    let Ok(python) = std::env::var("PUSH_TEST_PYTHON") else {
        eprintln!("skipped: PUSH_TEST_PYTHON is not set (scripts/test.sh sets it)");
        return;
    };
    let collector = Collector::start(&python);
    let store = format!("scylla://{cql}/pushd_traces?rf=1");
    let endpoint = format!("http://127.0.0.1:{}", collector.port);
    let args = [
        "--store",
        store.as_str(),
        "--cluster-listen",
        "127.0.0.1:0",
        "--cluster-secret",
        SECRET,
        "--public-url",
        PUBLIC_URL,
        "--otlp-endpoint",
        endpoint.as_str(),
    ];
    let sending = Pushd::start(&args);
    let streaming = Pushd::start(&args);

    let mut device = RawDevice::register(&sending.url).await;
    let subscription = device.subscribe(None).await;
    device.reconnect(&streaming.url).await;
    let mut stream = device.listen_live(pb::Hello::default()).await;
    let mut sender = Senders::new(&sending.url).await;
    sender.audience = PUBLIC_URL.into();
    let receipt = sender.send_text(&subscription, "traced", 600).await;
    assert_eq!(receipt.outcome(), pb::Outcome::Delivered, "forwarded live");
    let message = stream.next_message().await;
    stream.ack(std::slice::from_ref(&message.message_id)).await;

    let on_sender = ["submit", "route", "store", "forward"];
    let on_stream = ["node.deliver", "deliver", "ack"];
    let expected: Vec<&str> = on_sender.iter().chain(&on_stream).copied().collect();
    let trace = collector.trace_of(&message.message_id, &expected).await;
    let by_name: HashMap<&str, &Value> = trace
        .iter()
        .filter_map(|span| Some((span["name"].as_str()?, span)))
        .collect();
    let names: BTreeSet<&&str> = by_name.keys().collect();
    for name in &expected {
        assert!(
            names.contains(name),
            "no {name:?} span in the message's trace; it has {names:?}"
        );
    }
    let instance = |name: &str| by_name[name]["resource"]["service.instance.id"].clone();
    for name in &expected {
        assert_eq!(by_name[name]["resource"]["service.name"], "pushd", "{name}");
    }
    for name in on_sender {
        assert_eq!(
            instance(name),
            instance("submit"),
            "{name} is the sending node's"
        );
    }
    for name in on_stream {
        assert_eq!(
            instance(name),
            instance("node.deliver"),
            "{name} is the streaming node's"
        );
    }
    assert_ne!(
        instance("submit"),
        instance("node.deliver"),
        "two nodes, told apart"
    );
    assert_eq!(
        by_name["node.deliver"]["parent_span_id"], by_name["forward"]["span_id"],
        "the receiving node continues the forward's span"
    );
    assert_eq!(
        by_name["ack"]["parent_span_id"],
        by_name["deliver"]["span_id"]
    );
    assert_eq!(
        by_name["deliver"]["attributes"]["message_id"],
        message.message_id.as_str()
    );
}
