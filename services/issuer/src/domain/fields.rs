//! Text fields of issuers and badge classes, parsed once at the edge.

use std::fmt;

/// Why a field was refused; the message names the field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: &'static str,
    pub problem: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Non-empty trimmed text of at most `MAX` characters, without bidi
/// overrides or control characters — line breaks allowed only when
/// `MULTILINE` (see [`akashi_model::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText<const MAX: usize, const MULTILINE: bool>(String);

impl<const MAX: usize, const MULTILINE: bool> BoundedText<MAX, MULTILINE> {
    /// Parses `raw` for the field called `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let checked = if MULTILINE {
            akashi_model::text::multi_line(raw, MAX)
        } else {
            akashi_model::text::single_line(raw, MAX)
        };
        checked
            .map(|text| Self(text.to_string()))
            .map_err(|e| FieldError::new(field, e.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MAX: usize, const MULTILINE: bool> fmt::Display for BoundedText<MAX, MULTILINE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name (issuer, badge class): one line, up to 200 characters.
pub type Name = BoundedText<200, false>;
/// A description or narrative: up to 10,000 characters, line breaks allowed.
pub type LongText = BoundedText<10_000, true>;

/// An absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl(url::Url);

impl WebUrl {
    /// Parses `raw` for the field called `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let url = url::Url::parse(raw.trim()).map_err(|e| FieldError::new(field, format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(FieldError::new(field, "must be an absolute http(s) URL"));
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_trims_and_limits() {
        assert_eq!(Name::parse("name", "  Data Science ").unwrap().as_str(), "Data Science");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(Name::parse("name", "a\u{0}b").is_err());
        assert!(LongText::parse("description", "line one\nline two").is_ok());
        let e = Name::parse("name", "").unwrap_err();
        assert_eq!(e.to_string(), "name: must not be empty");
    }

    #[test]
    fn web_urls_are_absolute_http() {
        assert!(WebUrl::parse("url", "https://example.ac.jp/").is_ok());
        assert!(WebUrl::parse("url", "ftp://example.ac.jp/").is_err());
        assert!(WebUrl::parse("url", "javascript:alert(1)").is_err());
        assert!(WebUrl::parse("url", "/relative").is_err());
    }
}
