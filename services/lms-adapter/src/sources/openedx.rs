//! Open edX events (openedx-events) as its event bus delivers them:
//! CloudEvents attributes (`ce_id`, `ce_type`, …) with the signal's data.
//! Three envelopes are read: `{"headers": {ce_…}, "data": …}` (the bus's
//! record), CloudEvents structured JSON (`{"specversion", "id", "type",
//! "data"}`), and binary mode (`ce-id`/`ce-type` HTTP headers, the data as
//! the body).
//!
//! Passing can flip back and forth as grades change: the first pass earns
//! the badge, and a later fail is kept but never revokes it.

use serde_json::Value;

use super::{id_text, json, number_field, time_field};
use crate::domain::completion::{
    CompletionError, CompletionEvent, CourseId, EventKind, Grade, Learner, bounded_id, bounded_optional, email_field,
};

/// `COURSE_PASSING_STATUS_UPDATED` (and its CCX twin).
pub const PASSING_STATUS_UPDATED: &str = "org.openedx.learning.course.passing.status.updated.v1";
const CCX_PASSING_STATUS_UPDATED: &str = "org.openedx.learning.ccx.course.passing.status.updated.v1";
/// `CERTIFICATE_CREATED`.
pub const CERTIFICATE_CREATED: &str = "org.openedx.learning.certificate.created.v1";

/// CloudEvents attributes that came as HTTP headers (binary mode).
#[derive(Debug, Default, Clone)]
pub struct HeaderAttributes {
    pub id: Option<String>,
    pub event_type: Option<String>,
    pub time: Option<String>,
}

/// Parses one delivery.
pub fn parse(body: &[u8], headers: &HeaderAttributes) -> Result<Vec<CompletionEvent>, CompletionError> {
    let value = json(body)?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let (id, event_type, time, data) = if let Some(h) = value.get("headers").filter(|h| h.is_object()) {
        (
            text(h.get("ce_id")),
            text(h.get("ce_type")),
            text(h.get("ce_time")),
            value.get("data"),
        )
    } else if value.get("specversion").is_some() {
        (
            text(value.get("id")),
            text(value.get("type")),
            text(value.get("time")),
            value.get("data"),
        )
    } else {
        (
            headers.id.clone(),
            headers.event_type.clone(),
            headers.time.clone(),
            Some(&value),
        )
    };
    let event_type = event_type.ok_or_else(|| CompletionError::Field("ce_type: missing".into()))?;
    let id = id.ok_or_else(|| CompletionError::Field("ce_id: missing".into()))?;
    let data = data.ok_or_else(|| CompletionError::Field("data: missing".into()))?;
    let time = time_field(time.map(Value::String).as_ref(), "ce_time")?;
    let event = match event_type.as_str() {
        PASSING_STATUS_UPDATED | CCX_PASSING_STATUS_UPDATED => {
            let status = data
                .get("course_passing_status")
                .ok_or_else(|| CompletionError::Field("data.course_passing_status: missing".into()))?;
            // Two shapes: `is_passing`, or `status` "passing"/"failing".
            let passing = match (status.get("is_passing"), status.get("status").and_then(Value::as_str)) {
                (Some(Value::Bool(b)), _) => *b,
                (_, Some(s)) => s.eq_ignore_ascii_case("passing"),
                _ => {
                    return Err(CompletionError::Field(
                        "course_passing_status: needs is_passing or status".into(),
                    ));
                }
            };
            let kind = if passing { EventKind::Passed } else { EventKind::Failed };
            build(&id, kind, status, time, None)?
        }
        CERTIFICATE_CREATED => {
            let certificate = data
                .get("certificate")
                .ok_or_else(|| CompletionError::Field("data.certificate: missing".into()))?;
            let grade = number_field(certificate.get("grade"))
                .filter(|g| (0.0..=1.0).contains(g))
                .map(Grade::parse)
                .transpose()?;
            build(&id, EventKind::Passed, certificate, time, grade)?
        }
        _ => return Ok(vec![]),
    };
    Ok(vec![event])
}

fn build(
    id: &str,
    kind: EventKind,
    record: &Value,
    time: Option<chrono::DateTime<chrono::Utc>>,
    grade: Option<Grade>,
) -> Result<CompletionEvent, CompletionError> {
    let user = record
        .get("user")
        .ok_or_else(|| CompletionError::Field("user: missing".into()))?;
    let course = record
        .pointer("/course/course_key")
        .or_else(|| record.pointer("/course/ccx_course_key"))
        .and_then(Value::as_str)
        .ok_or_else(|| CompletionError::Field("course.course_key: missing".into()))?;
    let email = user
        .pointer("/pii/email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(|e| email_field("user.pii.email", e))
        .transpose()?;
    let user_id = id_text(user.get("id")).map(|u| bounded_id("user.id", &u)).transpose()?;
    if email.is_none() && user_id.is_none() {
        return Err(CompletionError::Field("user: needs an id or pii.email".into()));
    }
    Ok(CompletionEvent {
        external_id: bounded_id("ce_id", id)?,
        kind,
        learner: Learner {
            email,
            name: bounded_optional(
                "user.pii.name",
                user.pointer("/pii/name").and_then(Value::as_str).map(str::to_owned),
                200,
            )?,
            lms_user_id: user_id,
        },
        course_id: CourseId::parse(course)?,
        activity_id: None,
        completed_at: time,
        grade,
        progress: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn passing_status_in_both_shapes() {
        let raw = sample("openedx_course_passing_status_updated.json");
        let e = &parse(raw.as_bytes(), &HeaderAttributes::default()).unwrap()[0];
        assert_eq!(e.kind, EventKind::Passed);
        assert_eq!(e.course_id.as_str(), "course-v1:ExampleU+BADGE101+2026");
        assert_eq!(e.learner.email.as_ref().unwrap().as_str(), "ada@example.edu");
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("317"));
        assert_eq!(e.external_id, "8f3c2d10-c6f1-11f0-9a3b-0242ac120002");
        let status_shape = raw.replace(
            "\"is_passing\": true",
            "\"status\": \"failing\", \"update_timestamp\": \"2026-01-02T00:00:00Z\"",
        );
        let f = &parse(status_shape.as_bytes(), &HeaderAttributes::default()).unwrap()[0];
        assert_eq!(f.kind, EventKind::Failed);
    }

    #[test]
    fn certificates_structured_and_binary_cloudevents() {
        let cert = sample("openedx_certificate_created.json");
        let e = &parse(cert.as_bytes(), &HeaderAttributes::default()).unwrap()[0];
        assert_eq!(e.kind, EventKind::Passed);
        assert_eq!(e.grade.unwrap().value(), 0.82);
        let v: Value = serde_json::from_str(&cert).unwrap();
        let structured = serde_json::json!({"specversion": "1.0", "id": "x-1", "type": CERTIFICATE_CREATED,
            "source": "openedx/lms/web", "data": v["data"]});
        let s = &parse(structured.to_string().as_bytes(), &HeaderAttributes::default()).unwrap()[0];
        assert_eq!(s.external_id, "x-1");
        let headers = HeaderAttributes {
            id: Some("x-2".into()),
            event_type: Some(CERTIFICATE_CREATED.into()),
            time: None,
        };
        let b = &parse(v["data"].to_string().as_bytes(), &headers).unwrap()[0];
        assert_eq!(b.external_id, "x-2");
        assert!(
            parse(v["data"].to_string().as_bytes(), &HeaderAttributes::default()).is_err(),
            "no ce_type"
        );
    }
}
