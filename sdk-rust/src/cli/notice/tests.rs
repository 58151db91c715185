//! The payload convention on the inputs a sender controls: well-formed, partial, hostile.
use super::*;

fn notice(payload: &str) -> Notice {
    Notice::from_payload(payload.as_bytes(), None)
}

#[test]
fn json_title_and_body_are_summary_and_body() {
    let shown = notice(r#"{"title":"Build failed","body":"main is red","icon":"dialog-error"}"#);
    assert_eq!(shown.summary, "Build failed");
    assert_eq!(shown.body, "main is red");
    assert_eq!(shown.icon, "dialog-error");
}

#[test]
fn either_title_or_body_is_enough() {
    let title_only = notice(r#"{"title":"Ping"}"#);
    assert_eq!(
        (title_only.summary.as_str(), title_only.body.as_str()),
        ("Ping", "")
    );
    let body_only = Notice::from_payload(br#"{"body":"Pong"}"#, Some("chat"));
    // The JSON form names its own summary; the label is for plain text.
    assert_eq!(
        (body_only.summary.as_str(), body_only.body.as_str()),
        ("pushd", "Pong")
    );
}

#[test]
fn url_ends_the_body_and_must_parse() {
    let with_url =
        notice(r#"{"title":"PR","body":"review asked","url":"https://example.com/pr/1"}"#);
    assert_eq!(with_url.body, "review asked\nhttps://example.com/pr/1");
    let bad_url = notice(r#"{"title":"PR","url":"not a url"}"#);
    assert_eq!(bad_url.body, "");
}

#[test]
fn icons_are_local_or_dropped() {
    for local in ["/usr/share/icons/a.png", "file:///tmp/a.png", "mail-unread"] {
        let payload = serde_json::json!({"title": "t", "icon": local}).to_string();
        assert_eq!(notice(&payload).icon, local);
    }
    for remote in [
        "https://tracker.example/pixel.png",
        "http://x/y",
        "//host/share",
        "a b",
    ] {
        let payload = serde_json::json!({"title": "t", "icon": remote}).to_string();
        assert_eq!(notice(&payload).icon, "", "{remote}");
    }
}

#[test]
fn anything_else_is_text_under_the_label() {
    assert_eq!(
        Notice::from_payload(b"Hello!", Some("news")),
        Notice {
            summary: "news".into(),
            body: "Hello!".into(),
            icon: String::new()
        }
    );
    // JSON that does not follow the convention is shown as the text it is.
    for text in [
        r#"{"title":42}"#,
        r#"{"other":"x"}"#,
        r#"["title"]"#,
        "{not json",
    ] {
        let shown = notice(text);
        assert_eq!(
            (shown.summary.as_str(), shown.body.as_str()),
            ("pushd", text)
        );
    }
    let binary = Notice::from_payload(&[0xff, 0xfe, 0x00], None);
    assert_eq!(binary.body, "(a binary message of 3 bytes)");
}

#[test]
fn control_characters_and_bidi_overrides_are_removed() {
    let shown = notice("\u{1b}[31mred\u{7}\tand\u{202e}txt.exe\nline two");
    assert_eq!(shown.body, "[31mred andtxt.exe\nline two");
    let titled = notice(r#"{"title":"a\nb\u0000c"}"#);
    assert_eq!(titled.summary, "a bc");
}

#[test]
fn long_text_is_cut_on_a_character_boundary() {
    let shown = notice(&"é".repeat(5000));
    assert_eq!(shown.body.chars().count(), BODY_MAX_CHARS + 1);
    assert!(shown.body.ends_with('…'));
    let long_title = serde_json::json!({"title": "t".repeat(1000)}).to_string();
    assert_eq!(
        notice(&long_title).summary.chars().count(),
        SUMMARY_MAX_CHARS + 1
    );
}

#[test]
fn deeply_nested_json_is_text_not_a_crash() {
    let nested = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let shown = notice(&nested);
    assert_eq!(shown.summary, "pushd");
    assert!(shown.body.ends_with('…'));
}
