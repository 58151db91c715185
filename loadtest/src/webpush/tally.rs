//! What one device saw of the messages posted to it, counted the way a comparison needs:
//! each posted message arrived or did not, a version seen again is a duplicate, and one that
//! matches nothing posted is unknown. Nothing is assumed from the service's answers.
//!
//! Versions are matched to the `Location` ids when the service makes them equal (autopush
//! does); otherwise (pushd's `Location` is a sealed handle) new versions count against the
//! posted messages in order, and any beyond their number are unknown.
use std::collections::HashSet;

/// What a delivery turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A posted message, for the first time.
    New,
    Duplicate,
    Unknown,
}

#[derive(Debug)]
pub struct Tally {
    posted: HashSet<String>,
    expected: usize,
    /// Decided by the first delivery: does its version equal a `Location` id?
    by_id: Option<bool>,
    versions: HashSet<String>,
    pub arrived: usize,
    pub duplicates: usize,
    pub unknown: usize,
}

impl Tally {
    /// Counts against `posted`, the `Location` ids of the accepted messages (empty strings
    /// for `201`s without one).
    pub fn new(posted: &[String]) -> Self {
        Tally {
            posted: posted.iter().filter(|id| !id.is_empty()).cloned().collect(),
            expected: posted.len(),
            by_id: None,
            versions: HashSet::with_capacity(posted.len()),
            arrived: 0,
            duplicates: 0,
            unknown: 0,
        }
    }

    pub fn see(&mut self, version: &str) -> Seen {
        let by_id = *self
            .by_id
            .get_or_insert_with(|| self.posted.contains(version));
        if !self.versions.insert(version.to_owned()) {
            self.duplicates += 1;
            return Seen::Duplicate;
        }
        let known = match by_id {
            true => self.posted.contains(version),
            false => self.arrived < self.expected,
        };
        if !known {
            self.unknown += 1;
            return Seen::Unknown;
        }
        self.arrived += 1;
        Seen::New
    }

    /// Whether `version` was delivered before.
    pub fn was_seen(&self, version: &str) -> bool {
        self.versions.contains(version)
    }

    pub fn complete(&self) -> bool {
        self.arrived == self.expected
    }

    /// How versions were matched: by `Location` id, by count, or not at all (nothing came).
    pub fn join(&self) -> &'static str {
        match self.by_id {
            Some(true) => "message_id",
            Some(false) => "device_order",
            None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn versions_equal_to_location_ids_are_matched_by_id() {
        let mut tally = Tally::new(&posted(&["a", "b", "c"]));
        assert_eq!(tally.see("b"), Seen::New);
        assert_eq!(tally.see("b"), Seen::Duplicate);
        assert_eq!(tally.see("x"), Seen::Unknown);
        assert_eq!(tally.see("a"), Seen::New);
        assert_eq!(
            (tally.join(), tally.arrived, tally.complete()),
            ("message_id", 2, false)
        );
        assert!(tally.was_seen("x"));
    }

    #[test]
    fn other_versions_are_counted_against_what_was_posted() {
        let mut tally = Tally::new(&posted(&["h1", "h2"]));
        assert_eq!(tally.see("v1"), Seen::New);
        assert_eq!(tally.see("v2"), Seen::New);
        assert!(tally.complete());
        assert_eq!(tally.see("v1"), Seen::Duplicate);
        assert_eq!(tally.see("v3"), Seen::Unknown, "more than was posted");
        assert_eq!(
            (tally.join(), tally.duplicates, tally.unknown),
            ("device_order", 1, 1)
        );
    }
}
