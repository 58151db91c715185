//! Series that exist from the start, at zero, instead of at their first event.
//!
//! Prometheus's `rate()` and `increase()` see only changes between scrapes, so
//! a counter born at 1 hides its first event from an alert, and a dashboard
//! panel over a series that does not exist yet shows "no data", which reads as
//! broken. The series here are ones the alert rules and the dashboard in
//! `deploy/` name; the label values are the ones their call sites use.
//!
//! Not here: `pushd_bridge_sends_total`, `pushd_rate_limited_total` and
//! `pushd_connections_refused_total`, whose appearance the tests take as proof
//! that the event was counted.

/// Both bridges, as `Provider::kind` names them.
const BRIDGE_PROVIDERS: [&str; 2] = ["apns", "fcm"];

/// Creates the series at zero, once, as the recorder is installed.
pub(crate) fn register() {
    for front in ["grpc", "http"] {
        metrics::counter!("pushd_messages_accepted_total", "front" => front).increment(0);
    }
    for name in [
        "pushd_messages_stored_total",
        "pushd_messages_delivered_total",
        "pushd_messages_acked_total",
        "pushd_messages_expired_total",
        "pushd_messages_cancelled_total",
        "pushd_requests_timed_out_total",
    ] {
        metrics::counter!(name).increment(0);
    }
    metrics::gauge!("pushd_live_streams").increment(0.0);
    metrics::counter!("pushd_auth_failures_total", "kind" => "device").increment(0);
    for provider in BRIDGE_PROVIDERS {
        metrics::counter!("pushd_bridge_retries_total", "provider" => provider).increment(0);
        for call in ["send", "token"] {
            metrics::counter!("pushd_bridge_timeouts_total", "provider" => provider, "call" => call)
                .increment(0);
        }
    }
    metrics::gauge!("pushd_bridge_in_flight").increment(0.0);
}
