//! IMS Caliper 1.1/1.2 envelopes (`{sensor, sendTime, dataVersion, data[]}`):
//! GradeEvent `Graded`, AssessmentEvent `Submitted`, AssignableEvent
//! `Completed`/`Submitted`. Other events are valid Caliper but not about
//! completion: they are ignored.

use serde_json::Value;

use super::{json, number_field, time_field};
use crate::domain::completion::{CompletionError, CompletionEvent, CourseId, EventKind, Grade, Learner, bounded_id};

/// Parses one envelope.
pub fn parse(body: &[u8]) -> Result<Vec<CompletionEvent>, CompletionError> {
    parse_value(&json(body)?, false)
}

/// Parses an envelope already decoded; `canvas` normalises Canvas's global
/// URN ids to local ids (see [`super::canvas::local_id`]).
pub fn parse_value(envelope: &Value, canvas: bool) -> Result<Vec<CompletionEvent>, CompletionError> {
    let data = envelope
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| CompletionError::Json("expected a Caliper envelope with a `data` array".into()))?;
    if data.len() > 500 {
        return Err(CompletionError::Field("data: at most 500 events per envelope".into()));
    }
    let mut events = Vec::new();
    for (index, event) in data.iter().enumerate() {
        if let Some(e) = parse_event(event, canvas).map_err(|e| at(index, e))? {
            events.push(e);
        }
    }
    Ok(events)
}

fn at(index: usize, e: CompletionError) -> CompletionError {
    match e {
        CompletionError::Field(m) => CompletionError::Field(format!("data[{index}].{m}")),
        other => other,
    }
}

/// An entity named by its id or described with one.
fn entity_id(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn parse_event(event: &Value, canvas: bool) -> Result<Option<CompletionEvent>, CompletionError> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let action = event.get("action").and_then(Value::as_str).unwrap_or_default();
    let object = event.get("object");
    let (kind, learner, activity) = match (kind, action) {
        ("GradeEvent", "Graded") => (
            EventKind::Graded,
            entity_id(object.and_then(|o| o.get("assignee"))),
            entity_id(object.and_then(|o| o.get("assignable"))),
        ),
        ("AssessmentEvent", "Submitted") | ("AssignableEvent", "Completed" | "Submitted") => {
            (EventKind::Completed, entity_id(event.get("actor")), entity_id(object))
        }
        _ => return Ok(None),
    };
    let normalise = |id: &str| {
        if canvas {
            super::canvas::local_id(id)
        } else {
            id.to_string()
        }
    };
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| CompletionError::Field("id: missing".into()))?;
    let learner = learner.ok_or_else(|| CompletionError::Field("the learner (actor or assignee): missing".into()))?;
    let course =
        entity_id(event.get("group")).ok_or_else(|| CompletionError::Field("group.id: missing (the course)".into()))?;
    // An event about the course offering itself completes the course.
    let activity = activity.filter(|a| *a != course);
    let grade = if kind == EventKind::Graded {
        let generated = event.get("generated");
        match (
            number_field(generated.and_then(|g| g.get("scoreGiven"))),
            number_field(generated.and_then(|g| g.get("maxScore"))),
        ) {
            (Some(given), Some(max)) => Grade::from_points(given, max)?,
            _ => None,
        }
    } else {
        None
    };
    Ok(Some(CompletionEvent {
        external_id: bounded_id("id", id)?,
        kind,
        learner: Learner {
            lms_user_id: Some(bounded_id("actor.id", &normalise(learner))?),
            ..Learner::default()
        },
        course_id: CourseId::parse(&normalise(course))?,
        activity_id: activity.map(|a| bounded_id("object.id", &normalise(a))).transpose()?,
        completed_at: time_field(event.get("eventTime"), "eventTime")?,
        grade,
        progress: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<CompletionEvent> {
        let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
        parse(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_grade_event_scores_the_assignee_on_the_assignable() {
        let e = &sample("caliper_grade_event.json")[0];
        assert_eq!(e.kind, EventKind::Graded);
        assert_eq!(
            e.learner.lms_user_id.as_deref(),
            Some("https://lms.example.edu/users/317")
        );
        assert_eq!(e.course_id.as_str(), "https://lms.example.edu/course/42");
        assert_eq!(e.activity_id.as_deref(), Some("https://lms.example.edu/quiz/901"));
        assert_eq!(e.grade.unwrap().value(), 0.92);
        assert_eq!(e.external_id, "urn:uuid:7d1e5c2a-9b3f-4e8d-a6c1-2f0e9d8c7b6a");
    }

    #[test]
    fn an_assignable_completed_completes_the_activity() {
        let e = &sample("caliper_assignable_completed.json")[0];
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(
            e.activity_id.as_deref(),
            Some("https://lms.example.edu/course/42/capstone")
        );
    }

    #[test]
    fn other_events_are_ignored_and_bad_ones_refused() {
        let nav = r#"{"data": [{"id": "urn:uuid:1", "type": "NavigationEvent", "action": "NavigatedTo"}], "dataVersion": "x"}"#;
        assert!(parse(nav.as_bytes()).unwrap().is_empty());
        let no_group =
            r#"{"data": [{"id": "urn:uuid:1", "type": "AssignableEvent", "action": "Completed", "actor": "u"}]}"#;
        assert!(matches!(parse(no_group.as_bytes()), Err(CompletionError::Field(m)) if m.starts_with("data[0].")));
        assert!(parse(b"{}").is_err());
    }
}
