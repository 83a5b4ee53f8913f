//! Canvas Live Events (`{metadata, body}`), in Canvas's own format or in its
//! Caliper 1.1 format. Canvas names the same object by a *global* id in
//! `metadata` and in Caliper URNs (shard × 10^13 + local id) and by its
//! *local* id in `body`: every id is normalised to the local one, which is
//! also what admins see in Canvas's URLs and what rules name.

use serde_json::Value;

use super::{id_text, json, number_field, required_id, time_field};
use crate::domain::completion::{
    CompletionError, CompletionEvent, CourseId, EventKind, Grade, Learner, Progress, bounded_id, bounded_optional,
    email_field,
};

/// Canvas global ids are shard × 10^13 + local id.
const SHARD_FACTOR: u64 = 10_000_000_000_000;

/// The local id of a Canvas id, global or local, bare or in a Caliper URN
/// (`urn:instructure:canvas:user:10000000000317` → `317`).
pub fn local_id(raw: &str) -> String {
    let bare = raw.rsplit(':').next().unwrap_or(raw).trim();
    match bare.parse::<u64>() {
        Ok(n) if n >= SHARD_FACTOR => (n % SHARD_FACTOR).to_string(),
        _ => bare.to_string(),
    }
}

/// Parses one Canvas delivery (already unwrapped from its JWT if signed).
pub fn parse(body: &[u8]) -> Result<Vec<CompletionEvent>, CompletionError> {
    let value = json(body)?;
    if value.get("data").is_some() && value.get("dataVersion").is_some() {
        return super::caliper::parse_value(&value, true);
    }
    parse_value(&value)
}

/// Parses a Live Event already decoded as JSON.
pub fn parse_value(value: &Value) -> Result<Vec<CompletionEvent>, CompletionError> {
    let (Some(metadata), Some(body)) = (value.get("metadata"), value.get("body")) else {
        return Err(CompletionError::Json(
            "expected a Canvas Live Event: {\"metadata\": …, \"body\": …}".into(),
        ));
    };
    let name = metadata.get("event_name").and_then(Value::as_str).unwrap_or_default();
    let event_time = metadata.get("event_time").and_then(Value::as_str).unwrap_or_default();
    Ok(match name {
        "course_completed" | "course_progress" => vec![course_progress(name, body)?],
        "grade_change" => vec![grade_change(metadata, body, event_time)?],
        "course_grade_change" => vec![course_grade_change(body, event_time)?],
        _ => vec![],
    })
}

fn local(value: Option<&Value>, field: &str) -> Result<String, CompletionError> {
    Ok(local_id(&required_id(value, field)?))
}

fn course_progress(name: &str, body: &Value) -> Result<CompletionEvent, CompletionError> {
    let user = body
        .get("user")
        .ok_or_else(|| CompletionError::Field("body.user: missing".into()))?;
    let user_id = local(user.get("id"), "body.user.id")?;
    let course = local(body.pointer("/course/id"), "body.course.id")?;
    let completed_at = time_field(body.pointer("/progress/completed_at"), "body.progress.completed_at")?;
    let count = |key: &str| {
        body.pointer(&format!("/progress/{key}"))
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
    };
    let progress = match (count("requirement_completed_count"), count("requirement_count")) {
        (Some(done), Some(total)) => Some(Progress { done, total }),
        _ => None,
    };
    let completed = name == "course_completed" && completed_at.is_some();
    // course_completed fires again when the completion time is set or
    // updated: the time is part of the key, but the award's own key (rule,
    // learner, course) makes the second one harmless anyway.
    let external_id = match (completed, progress) {
        (true, _) => format!(
            "course_completed|{course}|{user_id}|{}",
            completed_at.map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
        (false, Some(p)) => format!("course_progress|{course}|{user_id}|{}/{}", p.done, p.total),
        (false, None) => format!("course_progress|{course}|{user_id}"),
    };
    Ok(CompletionEvent {
        external_id,
        kind: if completed {
            EventKind::Completed
        } else {
            EventKind::Progress
        },
        learner: Learner {
            email: user
                .get("email")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(|e| email_field("body.user.email", e))
                .transpose()?,
            name: bounded_optional(
                "body.user.name",
                user.get("name").and_then(Value::as_str).map(str::to_owned),
                200,
            )?,
            lms_user_id: Some(user_id),
        },
        course_id: CourseId::parse(&course)?,
        activity_id: None,
        completed_at,
        grade: None,
        progress,
    })
}

fn grade_change(metadata: &Value, body: &Value, event_time: &str) -> Result<CompletionEvent, CompletionError> {
    // metadata.user_id is the grader; the learner is the student.
    let student = body
        .get("student_id")
        .filter(|v| !v.is_null())
        .or_else(|| body.get("user_id"));
    let user_id = local(student, "body.student_id")?;
    let course = local(metadata.get("context_id"), "metadata.context_id")?;
    let assignment = local(body.get("assignment_id"), "body.assignment_id")?;
    let submission = id_text(body.get("submission_id")).unwrap_or_default();
    let grade = match (
        number_field(body.get("score")),
        number_field(body.get("points_possible")),
    ) {
        (Some(score), Some(possible)) => Grade::from_points(score, possible)?,
        _ => None,
    };
    Ok(CompletionEvent {
        external_id: format!("grade_change|{submission}|{event_time}"),
        kind: EventKind::Graded,
        learner: Learner {
            lms_user_id: Some(user_id),
            ..Learner::default()
        },
        course_id: CourseId::parse(&course)?,
        activity_id: Some(bounded_id("body.assignment_id", &assignment)?),
        completed_at: time_field(metadata.get("event_time"), "metadata.event_time")?,
        grade,
        progress: None,
    })
}

fn course_grade_change(body: &Value, event_time: &str) -> Result<CompletionEvent, CompletionError> {
    let user_id = local(body.get("user_id"), "body.user_id")?;
    let course = local(body.get("course_id"), "body.course_id")?;
    // Canvas course scores are percentages.
    let grade = number_field(body.get("final_score"))
        .or_else(|| number_field(body.get("current_score")))
        .map(|p| Grade::from_points(p, 100.0))
        .transpose()?
        .flatten();
    Ok(CompletionEvent {
        external_id: format!("course_grade_change|{course}|{user_id}|{event_time}"),
        kind: EventKind::Graded,
        learner: Learner {
            lms_user_id: Some(user_id),
            ..Learner::default()
        },
        course_id: CourseId::parse(&course)?,
        activity_id: None,
        completed_at: None,
        grade,
        progress: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<CompletionEvent> {
        let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
        parse(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn global_and_local_ids_are_one() {
        assert_eq!(local_id("10000000000317"), "317");
        assert_eq!(local_id("317"), "317");
        assert_eq!(local_id("urn:instructure:canvas:user:10000000000317"), "317");
        assert_eq!(local_id("20000000000042"), "42", "another shard");
    }

    #[test]
    fn course_completed_names_the_learner_and_course_by_local_id() {
        let e = &sample("canvas_course_completed.json")[0];
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(e.course_id.as_str(), "42");
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("317"));
        assert_eq!(e.learner.email.as_ref().unwrap().as_str(), "ada@example.edu");
        assert_eq!(e.progress, Some(Progress { done: 8, total: 8 }));
    }

    #[test]
    fn progress_and_grades_do_not_complete() {
        let p = &sample("canvas_course_progress.json")[0];
        assert_eq!(p.kind, EventKind::Progress);
        assert_eq!(p.progress, Some(Progress { done: 5, total: 8 }));
        let g = &sample("canvas_grade_change.json")[0];
        assert_eq!(g.kind, EventKind::Graded);
        assert_eq!(
            g.learner.lms_user_id.as_deref(),
            Some("317"),
            "the student, not the grader"
        );
        assert_eq!(g.course_id.as_str(), "42");
        assert_eq!(g.activity_id.as_deref(), Some("355"));
        assert_eq!(g.grade.unwrap().value(), 0.92);
    }

    #[test]
    fn the_caliper_format_agrees_with_the_canvas_format() {
        let c = &sample("canvas_caliper_grade_change.json")[0];
        let g = &sample("canvas_grade_change.json")[0];
        assert_eq!(c.learner.lms_user_id, g.learner.lms_user_id);
        assert_eq!(c.course_id, g.course_id);
        assert_eq!(c.activity_id, g.activity_id);
        assert_eq!(c.grade, g.grade);
    }
}
