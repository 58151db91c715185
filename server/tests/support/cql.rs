//! The CQL node the distributed-store tests run against, or a skip.
//!
//! `cargo test` on a machine without Cassandra skips these tests with one
//! line saying how to run them. A skip must never hide a missing database
//! in the full suite, so `PUSHD_TEST_REQUIRE_CQL=1` (set by
//! `scripts/test.sh`) turns the skip into a failure.

use std::io::Write as _;
use std::sync::Once;

const HOW: &str = "set PUSHD_TEST_CQL=127.0.0.1:9042 and PUSHD_TEST_CQL_CA=/tmp/pushd-cassandra/tls/ca.pem after deploy/cassandra/start.sh --tls, or run scripts/test.sh";

/// `PUSHD_TEST_CQL` (host:port), or None when the test should skip.
pub fn node() -> Option<String> {
    required("PUSHD_TEST_CQL")
}

/// `PUSHD_TEST_CQL_CA`: the CA of a node started with `start.sh --tls`.
pub fn ca() -> Option<String> {
    required("PUSHD_TEST_CQL_CA")
}

fn required(variable: &str) -> Option<String> {
    if let Ok(value) = std::env::var(variable) {
        return Some(value);
    }
    if std::env::var("PUSHD_TEST_REQUIRE_CQL").is_ok_and(|value| value == "1") {
        panic!("{variable} is not set but PUSHD_TEST_REQUIRE_CQL=1: {HOW}");
    }
    // Once per test binary, and past the test harness's capture (which
    // shows a passing test's output only with --nocapture).
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "{}: skipped the CQL tests ({variable} is not set): {HOW}",
            env!("CARGO_CRATE_NAME")
        );
    });
    None
}
