//! Moodle events as its webhook plugins send them: the standard event data
//! (`$event->get_data()`) plus `host` and the shared `token` in the body
//! (local_webhooks). The learner is `relateduserid`; `userid` is whoever
//! acted (often cron or an admin).

use chrono::{TimeZone, Utc};
use serde_json::Value;

use super::{id_text, json, required_id};
use crate::domain::completion::{CompletionError, CompletionEvent, CourseId, EventKind, Learner};

/// The course completion event.
pub const COURSE_COMPLETED: &str = "\\core\\event\\course_completed";
/// An activity's completion state changed.
pub const MODULE_COMPLETION_UPDATED: &str = "\\core\\event\\course_module_completion_updated";

/// A parsed Moodle delivery: its events and the token the body carried.
pub struct MoodleDelivery {
    pub events: Vec<CompletionEvent>,
    pub token: Option<String>,
    /// The body with the token removed, as it is kept for audit.
    pub redacted_body: String,
}

/// Parses one Moodle event.
pub fn parse(body: &[u8]) -> Result<MoodleDelivery, CompletionError> {
    let mut value = json(body)?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| CompletionError::Json("expected a JSON object".into()))?;
    let token = match object.remove("token") {
        Some(Value::String(t)) => Some(t),
        _ => None,
    };
    let redacted_body = value.to_string();
    let name = value.get("eventname").and_then(Value::as_str).unwrap_or_default();
    let events = match name {
        COURSE_COMPLETED => vec![event(&value, EventKind::Completed, None)?],
        MODULE_COMPLETION_UPDATED => {
            // other.completionstate: 0 incomplete, 1 complete, 2 complete and passed, 3 complete and failed.
            let state = value.pointer("/other/completionstate").and_then(Value::as_i64);
            let kind = match state {
                Some(1) => EventKind::Completed,
                Some(2) => EventKind::Passed,
                Some(3) => EventKind::Failed,
                _ => EventKind::Progress,
            };
            let module = required_id(value.get("contextinstanceid"), "contextinstanceid")?;
            vec![event(&value, kind, Some(format!("cm:{module}")))?]
        }
        _ => vec![],
    };
    Ok(MoodleDelivery {
        events,
        token,
        redacted_body,
    })
}

fn event(value: &Value, kind: EventKind, activity_id: Option<String>) -> Result<CompletionEvent, CompletionError> {
    let learner = id_text(value.get("relateduserid"))
        .or_else(|| id_text(value.pointer("/other/relateduserid")))
        .ok_or_else(|| CompletionError::Field("relateduserid: missing (the learner)".into()))?;
    let course = required_id(value.get("courseid"), "courseid")?;
    let object = id_text(value.get("objectid")).unwrap_or_default();
    let host = value.get("host").and_then(Value::as_str).unwrap_or_default();
    let name = value.get("eventname").and_then(Value::as_str).unwrap_or_default();
    let created = value.get("timecreated").and_then(Value::as_i64);
    // Moodle's natural key; an activity's state can change back and forth,
    // so its events also carry their time.
    let mut external_id = format!("{host}|{name}|{object}|{learner}");
    if activity_id.is_some() {
        external_id.push_str(&format!("|{}", created.unwrap_or_default()));
    }
    Ok(CompletionEvent {
        external_id,
        kind,
        learner: Learner {
            email: None,
            name: None,
            lms_user_id: Some(crate::domain::completion::bounded_id("relateduserid", &learner)?),
        },
        course_id: CourseId::parse(&course)?,
        activity_id,
        completed_at: created.and_then(|t| Utc.timestamp_opt(t, 0).single()),
        grade: None,
        progress: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/samples/moodle_course_completed.json");

    #[test]
    fn the_learner_is_the_related_user_not_the_actor() {
        let d = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(d.token.as_deref(), Some("shared-token-configured-in-local_webhooks"));
        assert!(!d.redacted_body.contains("shared-token"), "the token is not kept");
        let e = &d.events[0];
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("317"));
        assert_eq!(e.course_id.as_str(), "42");
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(
            e.external_id,
            "moodle.example.edu|\\core\\event\\course_completed|8812|317"
        );
        assert_eq!(e.completed_at.unwrap().timestamp(), 1767225600);
    }

    #[test]
    fn other_events_are_ignored_and_module_completion_names_the_activity() {
        let other = SAMPLE.replace("course_completed\"", "user_loggedin\"");
        assert!(parse(other.as_bytes()).unwrap().events.is_empty());
        let module = SAMPLE
            .replace(
                "\\\\core\\\\event\\\\course_completed",
                "\\\\core\\\\event\\\\course_module_completion_updated",
            )
            .replace(
                "\"other\": {\"relateduserid\": 317}",
                "\"other\": {\"completionstate\": 2}",
            );
        let e = &parse(module.as_bytes()).unwrap().events[0];
        assert_eq!(e.activity_id.as_deref(), Some("cm:42"));
        assert_eq!(e.kind, EventKind::Passed);
        let no_learner = SAMPLE
            .replace("\"relateduserid\": 317,", "")
            .replace("{\"relateduserid\": 317}", "{}");
        assert!(parse(no_learner.as_bytes()).is_err());
    }
}
