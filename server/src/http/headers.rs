//! The RFC 8030 request headers a push message comes with, read into the
//! service's types. Pure functions over header text (the fuzz target
//! `http_headers` drives them), each error saying what to send instead.

use crate::domain::Urgency;

/// What the headers of `POST /push/<token>` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushHeaders {
    pub(crate) ttl_seconds: u32,
    pub(crate) urgency: Urgency,
    pub(crate) topic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    #[error(
        "the TTL header is required (RFC 8030 §5.2): seconds the push service should keep the message, e.g. `TTL: 3600`"
    )]
    MissingTtl,
    #[error("TTL {0:?} is not a number of seconds (0 or more)")]
    BadTtl(String),
    #[error("Urgency {0:?} is not one of very-low, low, normal, high (RFC 8030 §5.3)")]
    BadUrgency(String),
    #[error("Content-Encoding {0:?} is not supported: encrypt the body with aes128gcm (RFC 8291)")]
    UnsupportedEncoding(String),
    #[error(
        "Content-Encoding is required: aes128gcm (RFC 8291); a body with no encoding cannot be a Web Push message"
    )]
    MissingEncoding,
    #[error("a header is not visible ASCII; send plain header values")]
    NotText,
}

impl HeaderProblem {
    /// 415 for an encoding we do not speak, 400 for the rest.
    pub(crate) fn is_unsupported_media(&self) -> bool {
        matches!(self, HeaderProblem::UnsupportedEncoding(_))
    }
}

/// `TTL`, `Urgency` and `Topic`, as their header values (None: absent).
/// TTLs beyond `u32::MAX` are read as the largest TTL (the service caps it).
pub fn read_push_headers(
    ttl: Option<&[u8]>,
    urgency: Option<&[u8]>,
    topic: Option<&[u8]>,
) -> Result<PushHeaders, HeaderProblem> {
    let ttl = text(ttl.ok_or(HeaderProblem::MissingTtl)?)?;
    if ttl.is_empty() || !ttl.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(HeaderProblem::BadTtl(shown(ttl)));
    }
    let ttl_seconds = ttl.parse::<u64>().map_or(u32::MAX, |seconds| {
        u32::try_from(seconds).unwrap_or(u32::MAX)
    });
    let urgency = match urgency {
        None => Urgency::Normal,
        Some(value) => {
            let value = text(value)?;
            match value.to_ascii_lowercase().as_str() {
                "very-low" => Urgency::VeryLow,
                "low" => Urgency::Low,
                "normal" => Urgency::Normal,
                "high" => Urgency::High,
                _ => return Err(HeaderProblem::BadUrgency(shown(value))),
            }
        }
    };
    // The topic's own rules (length, alphabet) are the submit service's.
    let topic = match topic {
        None => None,
        Some(value) => Some(text(value)?.to_owned()),
    };
    Ok(PushHeaders {
        ttl_seconds,
        urgency,
        topic,
    })
}

/// `Content-Encoding` must be `aes128gcm`; the older `aesgcm` drafts are
/// refused by name so the sender knows to upgrade its library.
pub fn check_content_encoding(value: Option<&[u8]>) -> Result<(), HeaderProblem> {
    let value = text(value.ok_or(HeaderProblem::MissingEncoding)?)?;
    if value.eq_ignore_ascii_case("aes128gcm") {
        Ok(())
    } else {
        Err(HeaderProblem::UnsupportedEncoding(shown(value)))
    }
}

fn text(value: &[u8]) -> Result<&str, HeaderProblem> {
    let value = std::str::from_utf8(value).map_err(|_| HeaderProblem::NotText)?;
    Ok(value.trim())
}

/// A header value quoted back, cut so a long one cannot bloat the reply.
fn shown(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_web_push_libraries_send() {
        let read = read_push_headers(Some(b"3600"), Some(b"high"), Some(b"scores"));
        assert_eq!(
            read,
            Ok(PushHeaders {
                ttl_seconds: 3600,
                urgency: Urgency::High,
                topic: Some("scores".into()),
            })
        );
        let plain = read_push_headers(Some(b" 0 "), None, None).expect("ttl 0");
        assert_eq!((plain.ttl_seconds, plain.urgency), (0, Urgency::Normal));
        let huge = read_push_headers(Some(b"99999999999999999999999"), None, None);
        assert_eq!(huge.map(|read| read.ttl_seconds), Ok(u32::MAX));
    }

    #[test]
    fn names_each_problem() {
        assert_eq!(
            read_push_headers(None, None, None),
            Err(HeaderProblem::MissingTtl)
        );
        assert!(matches!(
            read_push_headers(Some(b"-1"), None, None),
            Err(HeaderProblem::BadTtl(_))
        ));
        assert!(matches!(
            read_push_headers(Some(b"60"), Some(b"urgent"), None),
            Err(HeaderProblem::BadUrgency(_))
        ));
        assert_eq!(check_content_encoding(Some(b"AES128GCM")), Ok(()));
        let old = check_content_encoding(Some(b"aesgcm")).expect_err("aesgcm");
        assert!(old.is_unsupported_media());
        assert_eq!(
            check_content_encoding(None),
            Err(HeaderProblem::MissingEncoding)
        );
        assert_eq!(
            check_content_encoding(Some(&[0xff, 0xfe])),
            Err(HeaderProblem::NotText)
        );
    }
}
