//! One normalised completion event type. Each webhook source parses its own
//! LMS format into [`CompletionEvent`]s; nothing past this point knows which
//! LMS spoke.

use akashi_model::EmailAddress;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Why a payload is not an event we can act on (answered as 422).
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
        Ok(Self(bounded_id("course.id", raw)?))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An id (course, activity, user) as an LMS names it: 1–200 characters, no
/// control characters.
pub fn bounded_id(field: &str, raw: &str) -> Result<String, CompletionError> {
    akashi_model::text::single_line(raw, 200)
        .map(str::to_owned)
        .map_err(|e| CompletionError::Field(format!("{field}: {e}")))
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
    /// `given / maximum`, for sources that report points. A maximum of zero
    /// or less names no grade.
    pub fn from_points(given: f64, maximum: f64) -> Result<Option<Self>, CompletionError> {
        if !(maximum.is_finite() && maximum > 0.0) {
            return Ok(None);
        }
        if !(given.is_finite() && given >= 0.0) {
            return Err(CompletionError::Field("score: must be a number of 0 or more".into()));
        }
        // Extra credit can exceed the maximum; it is still full marks.
        Ok(Some(Self((given / maximum).min(1.0))))
    }
    /// The grade.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// What happened. Only [`EventKind::Completed`], [`EventKind::Passed`] and
/// (for rules with a score threshold) [`EventKind::Graded`] can earn a badge;
/// the others are kept for progress and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The course (or the named activity) was completed.
    Completed,
    /// The learner passed (Open edX passing status, xAPI `passed`, a certificate).
    Passed,
    /// A score was given, with no claim of completion.
    Graded,
    /// Progress toward completion (Canvas `course_progress`).
    Progress,
    /// A fail. Never revokes anything: a badge once earned stays earned.
    Failed,
}

impl EventKind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Completed => "completed",
            EventKind::Passed => "passed",
            EventKind::Graded => "graded",
            EventKind::Progress => "progress",
            EventKind::Failed => "failed",
        }
    }
    /// The kind a stored name stands for.
    pub fn from_stored(name: &str) -> Option<Self> {
        [
            EventKind::Completed,
            EventKind::Passed,
            EventKind::Graded,
            EventKind::Progress,
            EventKind::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// Who the event is about. Many LMSs name the learner only by their own user
/// id; the learner directory maps (source, user id) to an e-mail.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Learner {
    pub email: Option<EmailAddress>,
    pub name: Option<String>,
    pub lms_user_id: Option<String>,
}

/// Progress toward completion: `done` of `total` requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: i32,
    pub total: i32,
}

/// One thing a learner did in a course, as every source is normalised to.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionEvent {
    /// The source's natural key of this event (idempotency).
    pub external_id: String,
    pub kind: EventKind,
    pub learner: Learner,
    pub course_id: CourseId,
    /// The activity inside the course (quiz, assignment, module item), when
    /// the event is about one rather than the course.
    pub activity_id: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub grade: Option<Grade>,
    pub progress: Option<Progress>,
}

/// Trims an optional text field; refuses one that is too long or has control characters.
pub fn bounded_optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, CompletionError> {
    match value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
        Some(v) => akashi_model::text::single_line(&v, max)
            .map(|_| Some(v.clone()))
            .map_err(|e| CompletionError::Field(format!("{field}: {e}"))),
        None => Ok(None),
    }
}

/// Parses an e-mail address field.
pub fn email_field(field: &str, raw: &str) -> Result<EmailAddress, CompletionError> {
    EmailAddress::parse(raw).map_err(|e| CompletionError::Field(format!("{field}: {e}")))
}

/// Hex SHA-256, the fallback natural key of a body that names none.
pub fn hex_digest(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_become_a_grade_and_extra_credit_is_full_marks() {
        assert_eq!(Grade::from_points(92.0, 100.0).unwrap().unwrap().value(), 0.92);
        assert_eq!(Grade::from_points(110.0, 100.0).unwrap().unwrap().value(), 1.0);
        assert_eq!(Grade::from_points(5.0, 0.0).unwrap(), None);
        assert!(Grade::from_points(-1.0, 10.0).is_err());
        assert!(Grade::parse(f64::NAN).is_err());
    }

    #[test]
    fn ids_are_bounded() {
        assert!(CourseId::parse(" ").is_err());
        assert!(CourseId::parse(&"x".repeat(201)).is_err());
        assert!(CourseId::parse("a\nb").is_err());
        assert_eq!(CourseId::parse(" C-1 ").unwrap().as_str(), "C-1");
        for k in ["completed", "passed", "graded", "progress", "failed"] {
            assert_eq!(EventKind::from_stored(k).unwrap().as_str(), k);
        }
    }
}
