//! Resolution, error reporting, and the defaults the help and README.md show.

use super::*;

#[test]
fn flags_beat_the_file_and_defaults_fill_the_rest() {
    let file: Overrides =
        toml::from_str("max_ttl_seconds = 60\nlisten = \"127.0.0.1:1\"\nmetrics_listen = \"off\"")
            .expect("toml");
    let flags = Overrides {
        listen: Some("127.0.0.1:2".parse().expect("addr")),
        ..Overrides::default()
    };
    let settings = Settings::resolve(flags, file).expect("resolve");
    assert_eq!(settings.listen.port(), 2);
    assert_eq!(settings.max_ttl_seconds, 60);
    assert_eq!(settings.metrics_listen, None);
    assert_eq!(settings.retention.max_messages, 10_000);
}

#[test]
fn unknown_keys_and_bad_values_are_reported() {
    assert!(toml::from_str::<Overrides>("max_ttl = 5").is_err());
    let bad = Overrides {
        sqlite_sync: Some("sometimes".into()),
        ..Overrides::default()
    };
    assert!(
        Settings::resolve(bad, Overrides::default())
            .unwrap_err()
            .to_string()
            .contains("sqlite_sync")
    );
    let file: Overrides = toml::from_str("log_format = \"yaml\"").expect("toml");
    let refused = Settings::resolve(Overrides::default(), file)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("log_format") && refused.contains("json"),
        "{refused}"
    );
}

#[test]
fn secrets_never_show_in_debug_output_or_file_errors() {
    let flags = Overrides {
        admin_token: Some("admin-token-0123456789".parse().expect("secret")),
        cluster_secret: Some("cluster-secret-0123456789".parse().expect("secret")),
        apns_cert_password: Some("p12-password-0123456789".parse().expect("secret")),
        ..Overrides::default()
    };
    let shown = format!("{flags:?}");
    for secret in ["admin-token", "cluster-secret", "p12-password"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("pushd.toml");
    std::fs::write(
        &path,
        "log = \"info\"\ncluster_secret = \"very-secret-0123456789\n",
    )
    .expect("write");
    let error = read_file(&path)
        .expect_err("an unterminated string")
        .to_string();
    assert!(!error.contains("very-secret"), "{error}");
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn cluster_mode_needs_a_shared_store_a_secret_and_a_dialable_address() {
    let cluster = |store: &str, listen: &str, secret: &str| Overrides {
        store: Some(store.into()),
        cluster_listen: Some(listen.parse().expect("addr")),
        cluster_secret: Some(secret.parse().expect("secret")),
        ..Overrides::default()
    };
    let good = "0123456789abcdef";
    let refused = |flags: Overrides| {
        Settings::resolve(flags, Overrides::default())
            .unwrap_err()
            .to_string()
    };
    assert!(refused(cluster("sqlite", "127.0.0.1:8071", good)).contains("scylla://"));
    assert!(refused(cluster("scylla://h/ks", "127.0.0.1:8071", "short")).contains("16"));
    assert!(refused(cluster("scylla://h/ks", "0.0.0.0:8071", good)).contains("cluster_advertise"));
    let settings = Settings::resolve(
        cluster("scylla://h/ks", "127.0.0.1:8071", good),
        Overrides::default(),
    )
    .expect("resolve");
    let resolved = settings.cluster.expect("cluster on");
    assert_eq!(resolved.listen.port(), 8071);
    assert!(
        !format!("{resolved:?}").contains(good),
        "the secret stays out of logs"
    );
}

/// What the help and README.md must say a setting defaults to.
enum Documented {
    /// This value, as the first `code` span of README's default cell and
    /// as `[default: …]` in the flag's help.
    Value(String),
    /// No value: the feature is off ("none" or "off").
    Unset,
    /// Derived from other settings at start; README's cell contains this.
    Derived(&'static str),
}

/// Every setting's default as the code has it, by setting name.
fn code_defaults() -> Vec<(&'static str, Documented)> {
    use Documented::{Derived, Unset, Value};
    let value = |shown: &dyn std::fmt::Display| Value(shown.to_string());
    let policy = crate::bridges::policy::RoutingPolicy::default();
    vec![
        ("listen", value(&defaults::LISTEN)),
        ("store", value(&defaults::STORE)),
        ("metrics_listen", value(&defaults::METRICS_LISTEN)),
        ("data_dir", value(&defaults::DATA_DIR)),
        ("public_url", Derived("http://<listen>")),
        ("max_ttl_seconds", value(&defaults::MAX_TTL_SECONDS)),
        ("max_queued_messages", value(&defaults::MAX_QUEUED_MESSAGES)),
        ("max_queued_bytes", value(&defaults::MAX_QUEUED_BYTES)),
        ("sqlite_sync", value(&defaults::SQLITE_SYNC)),
        ("live_ack_wait_ms", value(&defaults::LIVE_ACK_WAIT_MS)),
        (
            "handshake_timeout_seconds",
            value(&defaults::HANDSHAKE_TIMEOUT_SECONDS),
        ),
        ("max_account_devices", value(&defaults::MAX_ACCOUNT_DEVICES)),
        (
            "max_subscriptions_per_device",
            value(&defaults::MAX_SUBSCRIPTIONS_PER_DEVICE),
        ),
        ("sender_rate", value(&defaults::SENDER_RATE)),
        ("vapid_cache_bytes", value(&defaults::VAPID_CACHE_BYTES)),
        ("subscription_rate", value(&defaults::SUBSCRIPTION_RATE)),
        ("device_rate", value(&defaults::DEVICE_RATE)),
        (
            "connection_rate_per_ip",
            value(&defaults::CONNECTION_RATE_PER_IP),
        ),
        (
            "max_streams_per_connection",
            value(&defaults::MAX_STREAMS_PER_CONNECTION),
        ),
        ("max_connections", value(&defaults::MAX_CONNECTIONS)),
        (
            "max_connections_per_ip",
            value(&defaults::MAX_CONNECTIONS_PER_IP),
        ),
        (
            "request_timeout_seconds",
            value(&defaults::REQUEST_TIMEOUT_SECONDS),
        ),
        (
            "max_connection_age_seconds",
            value(&defaults::MAX_CONNECTION_AGE_SECONDS),
        ),
        (
            "max_connection_age_grace_seconds",
            value(&defaults::MAX_CONNECTION_AGE_GRACE_SECONDS),
        ),
        (
            "tcp_user_timeout_seconds",
            value(&defaults::TCP_USER_TIMEOUT_SECONDS),
        ),
        (
            "max_stream_unacked_bytes",
            value(&defaults::MAX_STREAM_UNACKED_BYTES),
        ),
        (
            "max_unacked_bytes_total",
            value(&defaults::MAX_UNACKED_BYTES_TOTAL),
        ),
        (
            "register_rate_per_ip",
            value(&defaults::REGISTER_RATE_PER_IP),
        ),
        (
            "unused_device_seconds",
            value(&defaults::UNUSED_DEVICE_SECONDS),
        ),
        ("tls_cert_file", Unset),
        ("tls_key_file", Unset),
        ("admin_token", Unset),
        ("oidc_issuer", Unset),
        ("oidc_audience", Unset),
        ("oidc_jwks_url", Unset),
        (
            "expiry_interval_seconds",
            value(&defaults::EXPIRY_INTERVAL_SECONDS),
        ),
        ("drain_seconds", value(&defaults::DRAIN_SECONDS)),
        (
            "max_receipt_watchers",
            value(&defaults::MAX_RECEIPT_WATCHERS),
        ),
        (
            "receipt_retention_seconds",
            value(&defaults::RECEIPT_RETENTION_SECONDS),
        ),
        ("log", value(&defaults::LOG)),
        ("log_format", value(&defaults::LOG_FORMAT)),
        ("otlp_endpoint", Unset),
        ("ready_file", Unset),
        ("apns_key_file", Unset),
        ("apns_key_id", Unset),
        ("apns_team_id", Unset),
        ("apns_cert_file", Unset),
        ("apns_cert_password", Unset),
        ("apns_alert_title", value(&defaults::APNS_ALERT_TITLE)),
        ("fcm_service_account", Unset),
        // google-fcm1's own base URL; pushd overrides it only when set.
        ("fcm_base_url", Derived("https://fcm.googleapis.com/")),
        ("bridge_when_idle", value(&policy.bridge_when_idle)),
        (
            "low_urgency_margin_seconds",
            value(&policy.low_urgency_margin.as_secs()),
        ),
        ("bridge_workers", value(&defaults::BRIDGE_WORKERS)),
        (
            "bridge_call_timeout_seconds",
            value(&defaults::BRIDGE_CALL_TIMEOUT_SECONDS),
        ),
        ("cluster_listen", Unset),
        ("cluster_advertise", Derived("the bound `cluster_listen`")),
        ("cluster_secret", Unset),
    ]
}

/// README.md's settings table: each setting named in a row's first cell,
/// with that row's default cell.
fn readme_defaults() -> Vec<(String, String)> {
    let readme = include_str!("../../../README.md");
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in readme.lines() {
        if line.starts_with("| Setting | Default | What it does |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (names, default) = (cells[1], cells[2]);
        for name in names.split(',') {
            rows.push((name.trim().trim_matches('`').to_owned(), default.to_owned()));
        }
    }
    rows
}

fn first_code_span(cell: &str) -> Option<&str> {
    let (_, rest) = cell.split_once('`')?;
    rest.split_once('`').map(|(span, _)| span)
}

#[test]
fn defaults_match_the_help_and_the_readme() {
    use clap::CommandFactory as _;
    let code = code_defaults();
    let readme = readme_defaults();
    assert!(!readme.is_empty(), "README.md's settings table not found");
    let command = Cli::command();
    let mut problems = Vec::new();
    for (name, cell) in &readme {
        let Some((_, documented)) = code.iter().find(|(setting, _)| setting == name) else {
            problems.push(format!("README row `{name}`: no such setting in the code"));
            continue;
        };
        let agrees = match documented {
            Documented::Value(value) => first_code_span(cell) == Some(value.as_str()),
            Documented::Unset => ["none", "off"].contains(&cell.to_ascii_lowercase().as_str()),
            Documented::Derived(text) => cell.contains(text),
        };
        if !agrees {
            let wanted = match documented {
                Documented::Value(value) => format!("`{value}`"),
                Documented::Unset => "none or off".into(),
                Documented::Derived(text) => (*text).into(),
            };
            problems.push(format!(
                "README row `{name}`: default cell is {cell:?}; the code's is {wanted}"
            ));
        }
    }
    for (name, documented) in &code {
        if !readme.iter().any(|(row, _)| row == name) {
            problems.push(format!("setting `{name}` has no row in README.md's table"));
        }
        let Some(argument) = command
            .get_arguments()
            .find(|argument| argument.get_id() == *name)
        else {
            problems.push(format!("setting `{name}` is not a flag"));
            continue;
        };
        let help = argument
            .get_long_help()
            .or(argument.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        if let Documented::Value(value) = documented {
            let shown = format!("[default: {value}");
            let found = help
                .match_indices(&shown)
                .any(|(at, _)| matches!(help[at + shown.len()..].chars().next(), Some(']' | ' ')));
            if !found {
                problems.push(format!(
                    "--{} help: {help:?} should say [default: {value}]",
                    name.replace('_', "-")
                ));
            }
        }
    }
    for argument in command.get_arguments() {
        let id = argument.get_id().as_str();
        if !["config", "help", "version"].contains(&id) && !code.iter().any(|(name, _)| *name == id)
        {
            problems.push(format!(
                "flag `{id}` has no default listed in code_defaults"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
