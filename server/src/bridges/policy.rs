//! Where a message goes, from the device's presence, its urgency and its TTL.
//!
//! - A live stream whose device is active (or idle, unless `bridge_when_idle`)
//!   gets it on the stream.
//! - A device that is away, or has no stream, gets it through its bridge if
//!   it has one; otherwise it waits in the store (an away stream with no
//!   bridge still gets it on the stream: that is the only way to it).
//! - Low and very-low urgency do not wake a phone: they wait for the device to
//!   become active, and go through the bridge only when the TTL would run out
//!   first (`low_urgency_margin` before it expires).
//!
//! A message goes one way: one sent through a bridge is not offered to the
//! stream, and the SDK deduplicates by message id if a later replay brings it.

use std::time::Duration;

use crate::domain::{Presence, UnixMillis, Urgency};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingPolicy {
    pub(crate) bridge_when_idle: bool,
    pub(crate) low_urgency_margin: Duration,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        Self {
            bridge_when_idle: false,
            low_urgency_margin: Duration::from_secs(600),
        }
    }
}

/// When a bridged message should be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BridgeTiming {
    Now,
    /// Wait for the device; wake it at this instant if it is still not back.
    At(UnixMillis),
}

impl RoutingPolicy {
    /// True if a stream with this presence should carry messages rather than
    /// the device's bridge.
    pub(crate) fn streams_to(&self, presence: Presence) -> bool {
        match presence {
            Presence::Active => true,
            Presence::Idle => !self.bridge_when_idle,
            Presence::Away => false,
        }
    }

    /// When to bridge a message of this urgency, expiring at `expires_at`.
    pub(crate) fn bridge_timing(
        &self,
        urgency: Urgency,
        expires_at: UnixMillis,
        now: UnixMillis,
    ) -> BridgeTiming {
        if urgency >= Urgency::Normal {
            return BridgeTiming::Now;
        }
        let margin = i64::try_from(self.low_urgency_margin.as_millis()).unwrap_or(i64::MAX);
        let wake_at = expires_at.saturating_sub(margin);
        if wake_at <= now {
            BridgeTiming::Now
        } else {
            BridgeTiming::At(wake_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_decides_stream_or_bridge() {
        let policy = RoutingPolicy::default();
        assert!(policy.streams_to(Presence::Active));
        assert!(policy.streams_to(Presence::Idle));
        assert!(!policy.streams_to(Presence::Away));
        let eager = RoutingPolicy {
            bridge_when_idle: true,
            ..policy
        };
        assert!(!eager.streams_to(Presence::Idle));
    }

    #[test]
    fn low_urgency_waits_unless_the_ttl_runs_out_first() {
        let policy = RoutingPolicy::default();
        let now = 1_000_000;
        let hour = 3_600_000;
        assert_eq!(
            policy.bridge_timing(Urgency::High, now + hour, now),
            BridgeTiming::Now
        );
        assert_eq!(
            policy.bridge_timing(Urgency::Normal, now + hour, now),
            BridgeTiming::Now
        );
        assert_eq!(
            policy.bridge_timing(Urgency::Low, now + hour, now),
            BridgeTiming::At(now + hour - 600_000)
        );
        assert_eq!(
            policy.bridge_timing(Urgency::VeryLow, now + 60_000, now),
            BridgeTiming::Now,
            "expires within the margin: wake the phone now"
        );
    }
}
