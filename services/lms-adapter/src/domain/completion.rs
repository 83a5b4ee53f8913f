//! One normalised completion event type. Each webhook source parses its own
//! LMS format into a [`CompletionEvent`]; nothing past this point knows which
//! LMS spoke.

use akashi_model::EmailAddress;
use akashi_model::messages::Recipient;
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Why a payload is not a completion we can act on (answered as 422).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompletionError {
    #[error("body is not valid JSON for this source: {0}")]
    Json(String),
    #[error("{0}")]
    Field(String),
}

/// A course identifier as the LMS names it: 1–200 visible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseId(String);

impl CourseId {
    /// Parses a course id.
    pub fn parse(raw: &str) -> Result<Self, CompletionError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 200 || trimmed.chars().any(char::is_control) {
            return Err(CompletionError::Field(
                "course.id: must be 1-200 characters without control characters".into(),
            ));
        }
        Ok(Self(trimmed.to_string()))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A grade in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grade(f64);

impl Grade {
    /// Parses a grade.
    pub fn parse(raw: f64) -> Result<Self, CompletionError> {
        if raw.is_finite() && (0.0..=1.0).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(CompletionError::Field("grade: must be a number from 0 to 1".into()))
        }
    }
    /// The grade.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// A learner completed a course.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionEvent {
    /// The source's natural key of this event (idempotency).
    pub external_id: String,
    pub learner: Recipient,
    pub course_id: CourseId,
    pub completed_at: Option<DateTime<Utc>>,
    pub grade: Option<Grade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericLearner {
    email: String,
    name: Option<String>,
    lms_user_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericCourse {
    id: String,
    #[allow(dead_code)] // kept in the raw body for audit; the id is what rules match
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericBody {
    event_id: Option<String>,
    learner: GenericLearner,
    course: GenericCourse,
    completed_at: Option<DateTime<FixedOffset>>,
    grade: Option<f64>,
}

fn bounded_optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, CompletionError> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(CompletionError::Field(format!(
            "{field}: must be at most {max} characters without control characters"
        ))),
        other => Ok(other),
    }
}

/// Parses the contract's generic completion webhook body.
///
/// The event's key is `event_id`, else the `Idempotency-Key` header, else a
/// hash of the body, so that a sender that retries the same body is safe
/// even without either.
pub fn parse_generic(body: &[u8], idempotency_header: Option<&str>) -> Result<CompletionEvent, CompletionError> {
    let parsed: GenericBody = serde_json::from_slice(body).map_err(|e| CompletionError::Json(e.to_string()))?;
    let email = EmailAddress::parse(&parsed.learner.email)
        .map_err(|e| CompletionError::Field(format!("learner.email: {e}")))?;
    let event_id = bounded_optional("event_id", parsed.event_id, 200)?;
    let header = bounded_optional("Idempotency-Key", idempotency_header.map(str::to_owned), 200)?;
    let external_id = event_id
        .or(header)
        .unwrap_or_else(|| format!("sha256:{}", hex_digest(body)));
    Ok(CompletionEvent {
        external_id,
        learner: Recipient {
            email,
            name: bounded_optional("learner.name", parsed.learner.name, 200)?,
            lms_user_id: bounded_optional("learner.lms_user_id", parsed.learner.lms_user_id, 200)?,
        },
        course_id: CourseId::parse(&parsed.course.id)?,
        completed_at: parsed.completed_at.map(|t| t.with_timezone(&Utc)),
        grade: parsed.grade.map(Grade::parse).transpose()?,
    })
}

fn hex_digest(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"event_id": "evt-8f3a", "learner": {"email": "Hanako@Example.ac.jp", "name": "Hanako Yamada", "lms_user_id": "42"},
        "course": {"id": "DEMO-101", "name": "Introduction to Data Science"},
        "completed_at": "2026-11-27T09:00:00+09:00", "grade": 0.93}"#;

    #[test]
    fn parses_the_contract_sample() {
        let e = parse_generic(SAMPLE.as_bytes(), None).unwrap();
        assert_eq!(e.external_id, "evt-8f3a");
        assert_eq!(e.learner.email.as_str(), "hanako@example.ac.jp");
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("42"));
        assert_eq!(e.course_id.as_str(), "DEMO-101");
        assert_eq!(e.completed_at.unwrap().to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(e.grade.unwrap().value(), 0.93);
    }

    #[test]
    fn the_key_falls_back_to_the_header_then_the_body() {
        let body = br#"{"learner": {"email": "a@b.jp"}, "course": {"id": "C"}}"#;
        assert_eq!(parse_generic(body, Some("key-1")).unwrap().external_id, "key-1");
        let a = parse_generic(body, None).unwrap().external_id;
        assert!(a.starts_with("sha256:"));
        assert_eq!(a, parse_generic(body, None).unwrap().external_id, "same body, same key");
    }

    #[test]
    fn refuses_bad_fields() {
        let bad = |s: &str| parse_generic(s.as_bytes(), None).unwrap_err();
        assert!(matches!(bad("not json"), CompletionError::Json(_)));
        assert!(matches!(
            bad(r#"{"learner": {"email": "nope"}, "course": {"id": "C"}}"#),
            CompletionError::Field(_)
        ));
        assert!(matches!(
            bad(r#"{"learner": {"email": "a@b.jp"}, "course": {"id": " "}}"#),
            CompletionError::Field(_)
        ));
        assert!(matches!(
            bad(r#"{"learner": {"email": "a@b.jp"}, "course": {"id": "C"}, "grade": 1.5}"#),
            CompletionError::Field(_)
        ));
        assert!(matches!(
            bad(r#"{"learner": {"email": "a@b.jp"}, "course": {"id": "C"}, "completed_at": "yesterday"}"#),
            CompletionError::Json(_)
        ));
        assert!(matches!(
            bad(r#"{"learner": {"email": "a@b.jp"}, "course": {"id": "C"}, "surprise": 1}"#),
            CompletionError::Json(_)
        ));
    }
}
