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

pub fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => lines.json().try_init(),
    };
}
