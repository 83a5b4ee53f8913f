//! An e-mail address that has been parsed, trimmed and lower-cased.
//!
//! Open Badges hashes the recipient identity, so two spellings of one address
//! (`Hanako@Example.ac.jp` and `hanako@example.ac.jp`) must hash alike: we
//! normalise once, here, and every later step trusts the value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not an e-mail address we accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("e-mail address is empty")]
    Empty,
    #[error("e-mail address is longer than 254 characters")]
    TooLong,
    #[error("e-mail address must have exactly one '@' with text on both sides")]
    Shape,
    #[error("e-mail address contains whitespace or control characters")]
    BadCharacter,
    #[error("e-mail domain must contain a dot and no empty labels")]
    Domain,
}

/// A syntactically valid, lower-cased e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises (trim, lower-case) an address.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::BadCharacter);
        }
        let mut parts = trimmed.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) if !l.is_empty() && !d.is_empty() => (l, d),
            _ => return Err(EmailError::Shape),
        };
        if local.len() > 64 {
            return Err(EmailError::Shape);
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::Domain);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The mailbox the address reaches: without a `+tag` sub-address
    /// (`hanako+badges@example.ac.jp` → `hanako@example.ac.jp`), for
    /// counting what is sent to one person, never for addressing.
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((self.0.as_str(), ""));
        let local = local.split('+').next().unwrap_or(local);
        format!("{local}@{domain}")
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EmailAddress::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_addresses_reach_one_mailbox() {
        let tagged = EmailAddress::parse("Hanako+Badges+2@example.ac.jp").unwrap();
        assert_eq!(tagged.mailbox(), "hanako@example.ac.jp");
        assert_eq!(
            EmailAddress::parse("ken@example.jp").unwrap().mailbox(),
            "ken@example.jp"
        );
    }

    #[test]
    fn normalises_case_and_whitespace() {
        let e = EmailAddress::parse("  Hanako@Example.AC.jp ").unwrap();
        assert_eq!(e.as_str(), "hanako@example.ac.jp");
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("no-at-sign"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("a@b@c.jp"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("@example.jp"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("a b@example.jp"), Err(EmailError::BadCharacter));
        assert_eq!(EmailAddress::parse("a@localhost"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("a@example..jp"), Err(EmailError::Domain));
    }

    #[test]
    fn deserialising_applies_the_same_rules() {
        let ok: EmailAddress = serde_json::from_str("\"X@Y.org\"").unwrap();
        assert_eq!(ok.as_str(), "x@y.org");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}
