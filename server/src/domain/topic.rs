//! RFC 8030 section 5.4 topics: at most 32 characters of the base64url alphabet.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TopicError {
    #[error("topic is {0} characters long; at most 32 are allowed")]
    TooLong(usize),
    #[error("topic may use only base64url characters (A-Z a-z 0-9 - _)")]
    BadCharacter,
}

/// Checks a non-empty topic.
pub(crate) fn check_topic(topic: &str) -> Result<(), TopicError> {
    if topic.len() > 32 {
        return Err(TopicError::TooLong(topic.chars().count()));
    }
    let base64url = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
    if !topic.bytes().all(base64url) {
        return Err(TopicError::BadCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64url_up_to_32() {
        assert_eq!(check_topic("scores-2026_final"), Ok(()));
        assert_eq!(check_topic(&"a".repeat(32)), Ok(()));
    }

    #[test]
    fn refuses_long_or_odd_topics() {
        assert_eq!(check_topic(&"a".repeat(33)), Err(TopicError::TooLong(33)));
        assert_eq!(check_topic("a b"), Err(TopicError::BadCharacter));
        assert_eq!(check_topic("a=="), Err(TopicError::BadCharacter));
    }
}
