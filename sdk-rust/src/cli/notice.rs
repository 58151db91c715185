//! What a person is shown for one decrypted message: the payload convention.
//!
//! A payload that is a JSON object with a string `title` or `body` is shown as such, with its
//! optional `url` as a last line of the body and its optional `icon` used only when it names
//! something on this machine (a path or a freedesktop icon name; a URL is never fetched).
//! Anything else is shown as text under the subscription's label, or "pushd". Either way the
//! text is cleaned of control characters (terminal escapes, bidi overrides) and cut to a size
//! a notification can show, because it comes from whoever holds the subscription.
use serde_json::Value;

const DEFAULT_SUMMARY: &str = "pushd";
const SUMMARY_MAX_CHARS: usize = 120;
const BODY_MAX_CHARS: usize = 1000;
const URL_MAX_CHARS: usize = 500;
const ICON_MAX_CHARS: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// One line, never empty.
    pub summary: String,
    /// May span lines; ends with the URL when there is one.
    pub body: String,
    /// A local path, `file://` URI or icon theme name, or empty.
    pub icon: String,
}

impl Notice {
    /// `label` names the subscription (its scope), when it has one.
    pub(crate) fn from_payload(payload: &[u8], label: Option<&str>) -> Notice {
        let fallback_summary = || one_line(label.unwrap_or(DEFAULT_SUMMARY), SUMMARY_MAX_CHARS);
        let Ok(text) = std::str::from_utf8(payload) else {
            return Notice {
                summary: fallback_summary(),
                body: format!("(a binary message of {} bytes)", payload.len()),
                icon: String::new(),
            };
        };
        if let Some(notice) = structured(text) {
            return notice;
        }
        Notice {
            summary: fallback_summary(),
            body: clean(text, BODY_MAX_CHARS),
            icon: String::new(),
        }
    }
}

/// The convention's JSON form, or None when `text` is not an object with a title or body.
fn structured(text: &str) -> Option<Notice> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    // serde_json bounds nesting depth, so a hostile payload cannot exhaust the stack.
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let field = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let (title, body) = (field("title"), field("body"));
    if title.is_none() && body.is_none() {
        return None;
    }
    let mut shown_body = clean(body.unwrap_or_default(), BODY_MAX_CHARS);
    if let Some(url) = field("url").filter(|url| url::Url::parse(url).is_ok()) {
        if !shown_body.is_empty() {
            shown_body.push('\n');
        }
        shown_body.push_str(&one_line(url, URL_MAX_CHARS));
    }
    Some(Notice {
        summary: one_line(title.unwrap_or(DEFAULT_SUMMARY), SUMMARY_MAX_CHARS),
        body: shown_body,
        icon: field("icon")
            .filter(|icon| is_local_icon(icon))
            .unwrap_or_default()
            .to_owned(),
    })
}

/// A path or `file://` URI on this machine, or a theme icon name (`mail-unread`). Remote URLs
/// are refused: showing a notification must not make a request anyone can observe.
fn is_local_icon(icon: &str) -> bool {
    if icon.chars().count() > ICON_MAX_CHARS || icon.chars().any(char::is_control) {
        return false;
    }
    // `//host/…` may be read as a network share, as `file://host/…` names another machine.
    if icon.starts_with("//") {
        return false;
    }
    if icon.starts_with('/') || icon.starts_with("file:///") {
        return true;
    }
    icon.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// `text` without control characters other than line breaks, cut to `max_chars`.
fn clean(text: &str, max_chars: usize) -> String {
    let kept: String = text
        .trim()
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|&c| c == '\n' || !(c.is_control() || is_bidi_control(c)))
        .collect();
    truncate(&kept, max_chars)
}

fn one_line(text: &str, max_chars: usize) -> String {
    let flat = clean(text, usize::MAX).replace('\n', " ");
    truncate(&flat, max_chars)
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// Characters that reorder the text around them, so a message could make itself read as
/// something else.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests;
