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
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Non-empty trimmed text of at most `MAX` characters, without control characters
/// other than line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    /// Parses `raw` for the field called `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if trimmed.chars().count() > MAX {
            return Err(FieldError::new(field, format!("must be at most {MAX} characters")));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(FieldError::new(field, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_string()))
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

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name (issuer, badge class): up to 200 characters.
pub type Name = BoundedText<200>;
/// A description or narrative: up to 10,000 characters.
pub type LongText = BoundedText<10_000>;

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
