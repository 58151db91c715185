//! One module per subcommand, each the coordinator's script for that measurement.
pub mod drain;
pub mod idle;
pub mod throughput;

use std::time::Duration;

use crate::protocol::Event;

/// Registering, subscribing and connecting thousands of devices takes a while on two cores.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);

/// The slowest worker's setup time, in ms, from its `Registered` or `Connected` events.
fn slowest(events: &[Event]) -> u64 {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Registered { elapsed_ms, .. } | Event::Connected { elapsed_ms, .. } => {
                Some(*elapsed_ms)
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}
