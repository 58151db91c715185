//! Where log lines go and in what form: stderr, as text for a person at a
//! terminal or as one JSON object per line for a log collector.
//!
//! What a line may carry is decided where it is written: no payload, key,
//! credential or token is ever a field or part of a message
//! (`tests/json_logs.rs` submits a message and reads every line).

use std::io::IsTerminal as _;

/// How [`init_logging`] writes each line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, and
    /// `fields` (the event's fields, its message as `fields.message`).
    Json,
}

impl LogFormat {
    /// The setting's spelling (`log_format`), or None for an unknown one.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Logs to stderr; with `traces`, also exports the message spans of
/// [`crate::tracing_export`], which the log filter keeps out of the logs.
pub fn init_logging(
    filter: &str,
    format: LogFormat,
    traces: Option<&crate::tracing_export::Traces>,
) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive(crate::tracing_export::logs_leave_out());
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => lines.json().with_filter(filter).boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(lines);
    // Two arms rather than an `Option` layer: a `None` layer makes every
    // callsite the log filter turns off "sometimes" interesting, and h2's
    // and pushd's disabled trace! and span! calls would then each ask the
    // filter again on every hit. With two arms a profile at max rate shows
    // no tracing-subscriber frame at all.
    let _ = match traces {
        Some(traces) => subscriber.with(traces.layer()).try_init(),
        None => subscriber.try_init(),
    };
}
