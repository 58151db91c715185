//! File descriptors: every connection costs one, and so do the store's
//! files, the bridges' outbound connections and the log. The soft
//! open-files limit is often 1,024 while the hard one is far higher; pushd
//! raises the soft one to the hard one at start, and keeps a reserve out of
//! reach of clients so the store can always open what it needs.

/// Descriptors kept for everything that is not a client connection.
const RESERVED: u64 = 256;
/// The least `max_connections` derived from a small limit.
const AT_LEAST: u64 = 64;

/// Raises the soft open-files limit to the hard one; returns the limit in force.
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    let before = rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) => {
            if before.is_some_and(|before| before < now) {
                tracing::info!(
                    from = before.unwrap_or_default(),
                    to = now,
                    "raised the open-files limit to its hard limit"
                );
            }
            Some(now)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-files limit");
            before
        }
    }
}

/// `max_connections` as configured, or derived from the open-files limit.
pub(crate) fn max_connections(configured: u32, open_files: Option<u64>) -> u32 {
    if configured > 0 {
        return configured;
    }
    let derived = open_files.map_or(u64::from(u32::MAX), |limit| {
        limit.saturating_sub(RESERVED).max(AT_LEAST)
    });
    u32::try_from(derived).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_cap_wins_and_a_derived_one_keeps_a_reserve() {
        assert_eq!(max_connections(10, Some(1024)), 10);
        assert_eq!(max_connections(0, Some(20_000)), 19_744);
        assert_eq!(max_connections(0, Some(100)), 64);
    }
}
