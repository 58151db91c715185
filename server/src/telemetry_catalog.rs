//! Series that exist from the start, at zero, instead of at their first event.
//!
//! Prometheus's `rate()` and `increase()` see only changes between scrapes, so
//! a counter born at 1 hides its first event: the first refused connection or
//! failed bridge call would never fire an alert. And a dashboard panel over a
//! series that does not exist yet shows "no data", which reads as broken. The
//! series here are the ones the alert rules and the dashboard in `deploy/`
//! name: the message flow, and events a quiet or healthy node may never see
//! (a bridge, a rate limit, a refusal). The label values are the ones their
//! call sites use.

/// Both bridges and every outcome `bridges::dispatch` and `bridges::schedule` count.
const BRIDGE_PROVIDERS: [&str; 2] = ["apns", "fcm"];
const BRIDGE_OUTCOMES: [&str; 8] = [
    "sent",
    "token_gone",
    "retry",
    "auth_failed",
    "rejected",
    "no_provider",
    "not_scheduled",
    "not_needed",
];
/// `submit::SubmitError::too_fast`'s callers.
const RATE_LIMITS: [&str; 3] = ["sender key", "subscription", "device"];
/// `transport::accept`'s refusals.
const CONNECTION_REFUSALS: [&str; 2] = ["rate", "per_ip"];

/// Touches every series above; call once the metrics recorder is installed.
pub(crate) fn register() {
    for provider in BRIDGE_PROVIDERS {
        for outcome in BRIDGE_OUTCOMES {
            metrics::counter!("pushd_bridge_sends_total", "provider" => provider, "outcome" => outcome)
                .increment(0);
        }
        metrics::counter!("pushd_bridge_retries_total", "provider" => provider).increment(0);
        for call in ["send", "token"] {
            metrics::counter!("pushd_bridge_timeouts_total", "provider" => provider, "call" => call)
                .increment(0);
        }
    }
    metrics::gauge!("pushd_bridge_in_flight").increment(0.0);
    for limit in RATE_LIMITS {
        metrics::counter!("pushd_rate_limited_total", "limit" => limit).increment(0);
    }
    for reason in CONNECTION_REFUSALS {
        metrics::counter!("pushd_connections_refused_total", "reason" => reason).increment(0);
    }
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
}
