//! Text people will read, from people we do not know.
//!
//! Names travel from an LMS or an admin form into pages, mails, PDFs and
//! other systems' screens. A bidi override (U+202E) there can make
//! `Doctor of Medicine` + U+202E + `lanoitacoV` read as something it is not, and a line
//! break in a name can split a mail header or a log line. Every service
//! refuses both in names (see each field's parser) with one definition.

/// Whether `c` changes how the text around it is ordered on screen:
/// the bidi embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069). Marks (U+200E LRM, U+200F RLM) only nudge and stay.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` made safe inside HTML or XML markup, as element text or a
/// double-quoted attribute value: `&`, `<`, `>` and `"` become entities.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_markup_into(text, &mut out);
    out
}

/// [`escape_markup`], appended to `out` (for a document being written).
pub fn escape_markup_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Why a piece of text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters (line breaks included)")]
    Control,
    #[error("must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)")]
    BidiOverride,
}

/// Checks a one-line text (a name, a title): at most `max` characters, no
/// control character at all and no bidi override. Answers it trimmed.
pub fn single_line(raw: &str, max: usize) -> Result<&str, TextError> {
    checked(raw, max, false)
}

/// Checks a text that may span lines (a description): at most `max`
/// characters, line breaks and tabs allowed, no other control character
/// and no bidi override. Answers it trimmed.
pub fn multi_line(raw: &str, max: usize) -> Result<&str, TextError> {
    checked(raw, max, true)
}

fn checked(raw: &str, max: usize, lines: bool) -> Result<&str, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    let line_break = |c: char| lines && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !line_break(c)) {
        return Err(TextError::Control);
    }
    if text.chars().any(is_bidi_control) {
        return Err(TextError::BidiOverride);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_escaping_leaves_no_tag_or_attribute_end() {
        assert_eq!(escape_markup(r#"X"><script>&'"#), "X&quot;&gt;&lt;script&gt;&amp;'");
        assert_eq!(escape_markup("証明 plain"), "証明 plain");
    }

    #[test]
    fn names_are_one_plain_line() {
        assert_eq!(single_line("  データサイエンス入門 ", 200), Ok("データサイエンス入門"));
        assert_eq!(
            single_line("Doctor\u{202E}lanoitacoV", 200),
            Err(TextError::BidiOverride)
        );
        assert_eq!(single_line("x\u{2066}y", 200), Err(TextError::BidiOverride));
        assert_eq!(single_line("Line\r\nBcc: x@evil", 200), Err(TextError::Control));
        assert_eq!(single_line("a\u{0}", 200), Err(TextError::Control));
        assert_eq!(single_line("   ", 200), Err(TextError::Empty));
        assert_eq!(single_line(&"あ".repeat(201), 200), Err(TextError::TooLong(200)));
        // Hebrew with a right-to-left mark is ordinary text.
        assert!(single_line("מבוא\u{200F} 101", 200).is_ok());
    }

    #[test]
    fn descriptions_may_span_lines_but_not_reorder() {
        assert!(multi_line("first line\nsecond\tline", 100).is_ok());
        assert_eq!(multi_line("a\u{202D}b", 100), Err(TextError::BidiOverride));
        assert_eq!(multi_line("a\u{7}b", 100), Err(TextError::Control));
    }
}
