//! Completion rules: which badges a completion earns.

use uuid::Uuid;

use crate::db::models::RuleRow;
use crate::domain::completion::CompletionEvent;

/// The rules among `rules` that `event` satisfies.
pub fn matching<'a>(rules: &'a [RuleRow], event: &CompletionEvent) -> Vec<&'a RuleRow> {
    rules
        .iter()
        .filter(|r| r.active && r.course_id == event.course_id.as_str())
        .collect()
}

/// The award's idempotency key: one award per (rule, learner, course run).
/// The generic webhook names no run, so the course id stands for it.
pub fn idempotency_key(rule_id: Uuid, event: &CompletionEvent) -> String {
    format!(
        "rule:{rule_id}:learner:{}:course:{}",
        event.learner.email,
        event.course_id.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::completion::parse_generic;
    use chrono::Utc;

    fn rule(course: &str, active: bool) -> RuleRow {
        RuleRow {
            id: Uuid::new_v4(),
            issuer_id: Uuid::new_v4(),
            badge_class_id: Uuid::new_v4(),
            course_id: course.into(),
            active,
            created_at: Utc::now(),
        }
    }

    fn event(course: &str, email: &str, id: &str) -> CompletionEvent {
        let body =
            format!(r#"{{"event_id": "{id}", "learner": {{"email": "{email}"}}, "course": {{"id": "{course}"}}}}"#);
        parse_generic(body.as_bytes(), None).unwrap()
    }

    #[test]
    fn matches_active_rules_of_the_course_only() {
        let rules = vec![
            rule("DEMO-101", true),
            rule("DEMO-101", false),
            rule("OTHER", true),
            rule("DEMO-101", true),
        ];
        let hits = matching(&rules, &event("DEMO-101", "a@b.jp", "e1"));
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|r| r.course_id == "DEMO-101" && r.active));
        assert!(
            matching(&rules, &event("demo-101", "a@b.jp", "e1")).is_empty(),
            "course ids are exact"
        );
    }

    #[test]
    fn the_key_ignores_the_event_but_not_the_learner() {
        let r = rule("C", true);
        let k1 = idempotency_key(r.id, &event("C", "a@b.jp", "e1"));
        let k2 = idempotency_key(r.id, &event("C", "A@B.jp", "e2"));
        let k3 = idempotency_key(r.id, &event("C", "x@b.jp", "e1"));
        assert_eq!(k1, k2, "a second completion of the same learner is the same award");
        assert_ne!(k1, k3);
    }
}
