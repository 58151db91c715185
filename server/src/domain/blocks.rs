//! Whose block list a sender block is on. Devices and accounts keep their
//! own; the operator's apply to every subscription on the service.

/// The owner of a block list, as stores key it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockOwner {
    Device(String),
    /// Every approved device of the account shares it.
    Account(String),
    /// The operator's list of sender keys.
    ServiceKeys,
    /// The operator's list of sender contacts (the VAPID `sub` claim).
    ServiceContacts,
}

impl BlockOwner {
    pub(crate) fn key(&self) -> String {
        match self {
            BlockOwner::Device(id) => format!("device:{id}"),
            BlockOwner::Account(id) => format!("account:{id}"),
            BlockOwner::ServiceKeys => "service:key".into(),
            BlockOwner::ServiceContacts => "service:contact".into(),
        }
    }
}
