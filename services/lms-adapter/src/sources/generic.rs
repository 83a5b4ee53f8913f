//! The contract's generic completion webhook (what an LMS plugin or SIS sends).

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;

use crate::domain::completion::{
    CompletionError, CompletionEvent, CourseId, EventKind, Grade, Learner, bounded_optional, email_field, hex_digest,
};

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
    /// Kept in the raw body for audit; the id is what rules match.
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

/// Parses the generic completion body.
///
/// The event's key is `event_id`, else the `Idempotency-Key` header, else a
/// hash of the body, so that a sender that retries the same body is safe
/// even without either.
pub fn parse(body: &[u8], idempotency_header: Option<&str>) -> Result<CompletionEvent, CompletionError> {
    let parsed: GenericBody = serde_json::from_slice(body).map_err(|e| CompletionError::Json(e.to_string()))?;
    let email = email_field("learner.email", &parsed.learner.email)?;
    let event_id = bounded_optional("event_id", parsed.event_id, 200)?;
    let header = bounded_optional("Idempotency-Key", idempotency_header.map(str::to_owned), 200)?;
    let external_id = event_id
        .or(header)
        .unwrap_or_else(|| format!("sha256:{}", hex_digest(body)));
    Ok(CompletionEvent {
        external_id,
        kind: EventKind::Completed,
        learner: Learner {
            email: Some(email),
            name: bounded_optional("learner.name", parsed.learner.name, 200)?,
            lms_user_id: bounded_optional("learner.lms_user_id", parsed.learner.lms_user_id, 200)?,
        },
        course_id: {
            // The name is kept only in the stored body, but bounded like
            // every text field of every source (no megabyte names).
            bounded_optional("course.name", parsed.course.name, 500)?;
            CourseId::parse(&parsed.course.id)?
        },
        activity_id: None,
        completed_at: parsed.completed_at.map(|t| t.with_timezone(&Utc)),
        grade: parsed.grade.map(Grade::parse).transpose()?,
        progress: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"event_id": "evt-8f3a", "learner": {"email": "Hanako@Example.ac.jp", "name": "Hanako Yamada", "lms_user_id": "42"},
        "course": {"id": "DEMO-101", "name": "Introduction to Data Science"},
        "completed_at": "2026-11-27T09:00:00+09:00", "grade": 0.93}"#;

    #[test]
    fn parses_the_contract_sample() {
        let e = parse(SAMPLE.as_bytes(), None).unwrap();
        assert_eq!(e.external_id, "evt-8f3a");
        assert_eq!(e.learner.email.unwrap().as_str(), "hanako@example.ac.jp");
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("42"));
        assert_eq!(e.course_id.as_str(), "DEMO-101");
        assert_eq!(e.completed_at.unwrap().to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(e.grade.unwrap().value(), 0.93);
        assert_eq!(e.kind, EventKind::Completed);
    }

    #[test]
    fn the_key_falls_back_to_the_header_then_the_body() {
        let body = br#"{"learner": {"email": "a@b.jp"}, "course": {"id": "C"}}"#;
        assert_eq!(parse(body, Some("key-1")).unwrap().external_id, "key-1");
        let a = parse(body, None).unwrap().external_id;
        assert!(a.starts_with("sha256:"));
        assert_eq!(a, parse(body, None).unwrap().external_id, "same body, same key");
    }

    #[test]
    fn refuses_bad_fields() {
        let bad = |s: &str| parse(s.as_bytes(), None).unwrap_err();
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
