//! Control characters in client text.
//!
//! PostgreSQL refuses a NUL in text (SQLite stores it), and other control characters in names,
//! references and file cells only hide what a person reads. Client text is checked once, before
//! any handler sees it (the server's request guard runs these on every path, query string,
//! header, JSON body, web form and uploaded text file), and a control character is a 422
//! `control_character`:
//!
//! - a path, a query string and a header value may hold none (`char::is_control`: U+0000 to
//!   U+001F, U+007F to U+009F);
//! - a JSON string, a web form's field (the console) and a text file (CSV, MT940, rosters) may
//!   hold tab, line feed and carriage return, and no other.

use actix_web::http::StatusCode;

use crate::ApiError;

/// The 422 a request with a control character gets; `place` says where (`query`, `path`,
/// `header x-request-id`, `body`, `body line 3`).
pub fn control_character(place: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "control_character")
        .with_detail(format!(
            "the {place} holds a control character (NUL, other C0 or C1 codes)"
        ))
        .with_context(serde_json::json!({ "place": place }))
}

/// Whether a single-line value holds any control character.
pub fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

fn allowed_in_text(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// The first line (from 1) of a text file holding a control character other than tab and line
/// breaks.
pub fn control_line(text: &str) -> Option<usize> {
    text.split('\n')
        .position(|line| !line.chars().all(allowed_in_text))
        .map(|i| i + 1)
}

/// Whether a percent-encoded path or query string decodes to a control character (raw bytes
/// under 0x20 cannot reach here: HTTP refuses them).
pub fn has_encoded_control(raw: &str) -> bool {
    has_control(&percent_decoded(raw))
}

/// Whether an `application/x-www-form-urlencoded` body (a web form) decodes to a control
/// character other than tab and line breaks: its fields are text like a JSON string's (a
/// textarea sends line breaks).
pub fn form_has_control(body: &str) -> bool {
    !percent_decoded(body).chars().all(allowed_in_text)
}

/// Percent-decoded text, invalid UTF-8 replaced.
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let byte = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                decoded.push(u8::try_from(byte).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Whether a JSON document's strings hold a control character other than tab and line breaks,
/// raw or escaped (`\u0000`). The text need not be valid JSON: the JSON extractor refuses that.
pub fn json_has_control(json: &str) -> bool {
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if chars.next() == Some('u') {
                let hex: String = chars.by_ref().take(4).collect();
                let escaped = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                if escaped.is_some_and(|c| !allowed_in_text(c)) {
                    return true;
                }
            }
        } else if !allowed_in_text(c) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_and_raw_controls_in_json_strings_are_found() {
        assert!(json_has_control(r#"{"name":"a\u0000b"}"#));
        assert!(json_has_control(r#"{"name":"a\u001Fb"}"#));
        assert!(json_has_control(r#"{"name":"a\u0085b"}"#));
        assert!(json_has_control("{\"name\":\"a\u{7f}b\"}"));
        assert!(!json_has_control(r#"{"name":"line\nnext\ttab\r"}"#));
        assert!(
            !json_has_control(r#"{"name":"a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(!json_has_control(r#"{"name":"caf\u00e9 \"q\" \\"}"#));
        assert!(!json_has_control("{\n  \"a\": 1\r\n}"));
    }

    #[test]
    fn percent_encoded_controls_are_found() {
        assert!(has_encoded_control("category=%00"));
        assert!(has_encoded_control("/api/v1/x/a%1fb"));
        assert!(has_encoded_control("q=%C2%85"));
        assert!(has_encoded_control("q=%7F"));
        assert!(!has_encoded_control("q=beras%20premium&all_areas=true"));
        assert!(!has_encoded_control("q=%zz%"));
    }

    #[test]
    fn text_files_may_hold_tabs_and_line_breaks_only() {
        assert!(form_has_control("csrf=ab&reason=rekening%00ditutup"));
        assert!(form_has_control("reason=%1B%5B2J"));
        assert!(!form_has_control(
            "reason=baris+satu%0D%0Abaris%09dua&csrf=ab"
        ));
        assert_eq!(control_line("a,b\r\nc\td\n"), None);
        assert_eq!(control_line("a,b\nc\u{0}d\n"), Some(2));
        assert_eq!(control_line("\u{1b}[31m"), Some(1));
    }
}
