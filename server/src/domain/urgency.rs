//! RFC 8030 urgency and device presence, ordered so thresholds compare directly.

use push_proto::v1 as pb;

/// Ordered from least to most urgent, so `urgency >= threshold` reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Urgency {
    VeryLow = 1,
    Low = 2,
    Normal = 3,
    High = 4,
}

impl Urgency {
    pub fn from_i32(value: i32) -> Option<Self> {
        match pb::Urgency::try_from(value).ok()? {
            pb::Urgency::Unspecified | pb::Urgency::Normal => Some(Self::Normal),
            pb::Urgency::VeryLow => Some(Self::VeryLow),
            pb::Urgency::Low => Some(Self::Low),
            pb::Urgency::High => Some(Self::High),
        }
    }

    /// Like [`Urgency::from_i32`], but "unspecified" means no threshold at all.
    pub(crate) fn threshold_from_i32(value: i32) -> Option<Self> {
        if value == pb::Urgency::Unspecified as i32 {
            return Some(Self::VeryLow);
        }
        Self::from_i32(value)
    }

    pub(crate) fn from_u8(value: u8) -> Option<Self> {
        Self::from_i32(i32::from(value)).filter(|_| value != 0)
    }

    pub(crate) fn as_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn to_proto(self) -> pb::Urgency {
        match self {
            Self::VeryLow => pb::Urgency::VeryLow,
            Self::Low => pb::Urgency::Low,
            Self::Normal => pb::Urgency::Normal,
            Self::High => pb::Urgency::High,
        }
    }
}

/// What the device says about its user; later routing (bridges) reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Presence {
    Active = 1,
    Idle = 2,
    Away = 3,
}

impl Presence {
    /// Unspecified means active: a device that opens a stream is in use.
    pub fn from_i32(value: i32) -> Option<Self> {
        match pb::Presence::try_from(value).ok()? {
            pb::Presence::Unspecified | pb::Presence::Active => Some(Self::Active),
            pb::Presence::Idle => Some(Self::Idle),
            pb::Presence::Away => Some(Self::Away),
        }
    }

    /// The inverse of `presence as u8`; anything unknown reads as active.
    pub(crate) fn from_u8(value: u8) -> Self {
        Self::from_i32(i32::from(value)).unwrap_or(Self::Active)
    }
}
