//! xAPI 1.0.3 statements, one or an array, as an LRS forwards them.
//!
//! Completion ⇔ verb `completed` (or cmi5 `satisfied`) or
//! `result.completion`; a pass ⇔ verb `passed` or `result.success`; the
//! grade is `result.score.scaled`. The course is the object when it is a
//! course activity, else the statement's parent (or grouping) activity, with
//! the object as the activity inside it.

use serde_json::Value;

use super::{json, number_field, time_field};
use crate::domain::completion::{
    CompletionError, CompletionEvent, CourseId, EventKind, Grade, Learner, bounded_id, bounded_optional, email_field,
    hex_digest,
};

const COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
const PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
const FAILED: &str = "http://adlnet.gov/expapi/verbs/failed";
const SATISFIED: &str = "https://w3id.org/xapi/adl/verbs/satisfied";
const COURSE_TYPE: &str = "http://adlnet.gov/expapi/activities/course";

/// Parses one statement or an array of them.
pub fn parse(body: &[u8]) -> Result<Vec<CompletionEvent>, CompletionError> {
    let value = json(body)?;
    let statements = match &value {
        Value::Array(items) if items.len() > 500 => {
            return Err(CompletionError::Field("at most 500 statements per delivery".into()));
        }
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&value],
        _ => {
            return Err(CompletionError::Json(
                "expected a statement or an array of statements".into(),
            ));
        }
    };
    let mut events = Vec::new();
    for (index, statement) in statements.into_iter().enumerate() {
        let parsed = parse_statement(statement).map_err(|e| match e {
            CompletionError::Field(m) => CompletionError::Field(format!("statement[{index}].{m}")),
            other => other,
        })?;
        events.extend(parsed);
    }
    Ok(events)
}

/// The learner an actor names: an e-mail from `mbox`, else an LMS user key
/// the directory can map (`account`, `mbox_sha1sum`, `openid`).
fn learner(actor: &Value) -> Result<Learner, CompletionError> {
    let name = bounded_optional(
        "actor.name",
        actor.get("name").and_then(Value::as_str).map(str::to_owned),
        200,
    )?;
    if let Some(mbox) = actor.get("mbox").and_then(Value::as_str) {
        let address = mbox
            .strip_prefix("mailto:")
            .ok_or_else(|| CompletionError::Field("actor.mbox: must be a mailto: IRI".into()))?;
        return Ok(Learner {
            email: Some(email_field("actor.mbox", address)?),
            name,
            lms_user_id: None,
        });
    }
    let key = if let Some(account) = actor.get("account") {
        let home = account.get("homePage").and_then(Value::as_str).unwrap_or_default();
        let id = account.get("name").and_then(Value::as_str).unwrap_or_default();
        if home.is_empty() || id.is_empty() {
            return Err(CompletionError::Field("actor.account: needs homePage and name".into()));
        }
        format!("{home}|{id}")
    } else if let Some(sha) = actor.get("mbox_sha1sum").and_then(Value::as_str) {
        format!("mbox_sha1sum:{sha}")
    } else if let Some(openid) = actor.get("openid").and_then(Value::as_str) {
        openid.to_string()
    } else {
        return Err(CompletionError::Field(
            "actor: needs mbox, account, mbox_sha1sum or openid".into(),
        ));
    };
    Ok(Learner {
        email: None,
        name,
        lms_user_id: Some(bounded_id("actor", &key)?),
    })
}

fn parse_statement(statement: &Value) -> Result<Option<CompletionEvent>, CompletionError> {
    let actor = statement
        .get("actor")
        .ok_or_else(|| CompletionError::Field("actor: missing".into()))?;
    if actor.get("objectType").and_then(Value::as_str) == Some("Group") {
        return Ok(None); // badges go to people
    }
    let verb = statement
        .pointer("/verb/id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let result = statement.get("result");
    let flag = |key: &str| result.and_then(|r| r.get(key)).and_then(Value::as_bool);
    let grade = match result.and_then(|r| r.get("score")) {
        Some(score) => match number_field(score.get("scaled")) {
            // scaled is in [-1, 1]; below zero is no credit.
            Some(scaled) if (-1.0..=1.0).contains(&scaled) => Some(Grade::parse(scaled.max(0.0))?),
            Some(_) => {
                return Err(CompletionError::Field(
                    "result.score.scaled: must be from -1 to 1".into(),
                ));
            }
            None => match (number_field(score.get("raw")), number_field(score.get("max"))) {
                (Some(raw), Some(max)) => {
                    let min = number_field(score.get("min")).unwrap_or(0.0);
                    Grade::from_points(raw - min, max - min)?
                }
                _ => None,
            },
        },
        None => None,
    };
    let kind = match verb {
        COMPLETED | SATISFIED => EventKind::Completed,
        PASSED => EventKind::Passed,
        FAILED => EventKind::Failed,
        _ if flag("success") == Some(true) => EventKind::Passed,
        _ if flag("completion") == Some(true) => EventKind::Completed,
        _ if grade.is_some() => EventKind::Graded,
        _ => return Ok(None),
    };
    let object = statement
        .get("object")
        .ok_or_else(|| CompletionError::Field("object: missing".into()))?;
    let object_id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| CompletionError::Field("object.id: missing".into()))?;
    let is_course = object.pointer("/definition/type").and_then(Value::as_str) == Some(COURSE_TYPE);
    let parent = ["parent", "grouping"].iter().find_map(|k| {
        statement
            .pointer(&format!("/context/contextActivities/{k}/0/id"))
            .and_then(Value::as_str)
    });
    let (course, activity) = match (is_course, parent) {
        (false, Some(parent)) => (parent, Some(object_id)),
        _ => (object_id, None),
    };
    let external_id = match statement.get("id").and_then(Value::as_str) {
        Some(id) => bounded_id("id", id)?,
        None => format!("sha256:{}", hex_digest(statement.to_string().as_bytes())),
    };
    Ok(Some(CompletionEvent {
        external_id,
        kind,
        learner: learner(actor)?,
        course_id: CourseId::parse(course)?,
        activity_id: activity.map(|a| bounded_id("object.id", a)).transpose()?,
        completed_at: time_field(statement.get("timestamp"), "timestamp")?,
        grade,
        progress: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn a_course_completion_by_an_account() {
        let e = &parse(sample("xapi_course_completed.json").as_bytes()).unwrap()[0];
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(e.learner.lms_user_id.as_deref(), Some("https://lms.example.edu|317"));
        assert_eq!(e.course_id.as_str(), "https://lms.example.edu/course/42");
        assert_eq!(e.activity_id, None);
        assert_eq!(e.grade.unwrap().value(), 0.82);
    }

    #[test]
    fn a_pass_by_mbox_inside_a_course_and_arrays() {
        let passed = sample("xapi_passed.json");
        let e = &parse(passed.as_bytes()).unwrap()[0];
        assert_eq!(e.kind, EventKind::Passed);
        assert_eq!(e.learner.email.as_ref().unwrap().as_str(), "ada@example.edu");
        assert_eq!(e.course_id.as_str(), "https://lms.example.edu/course/42");
        assert_eq!(
            e.activity_id.as_deref(),
            Some("https://lms.example.edu/mod/quiz/view.php?id=901")
        );
        let both = format!("[{passed}, {}]", sample("xapi_course_completed.json"));
        assert_eq!(parse(both.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn other_verbs_are_ignored_and_bad_statements_refused() {
        let launched = sample("xapi_passed.json")
            .replace("verbs/passed", "verbs/launched")
            .replace("\"result\": {\"success\": true, \"completion\": true, \"score\": {\"scaled\": 0.92, \"raw\": 92, \"min\": 0, \"max\": 100}},", "");
        assert!(parse(launched.as_bytes()).unwrap().is_empty());
        let bad_score = sample("xapi_passed.json").replace("0.92", "1.5");
        assert!(parse(bad_score.as_bytes()).is_err());
        let no_actor = r#"{"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": "x"}}"#;
        assert!(parse(no_actor.as_bytes()).is_err());
    }
}
