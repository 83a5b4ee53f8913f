//! Completion rules: which badges an event earns.
//!
//! A rule names a course and, optionally, one activity in it and a minimum
//! grade. A completion or a pass of exactly that course or activity earns
//! the badge (at or above the grade, when the rule asks for one); a bare
//! score earns it only under a rule that asks for a grade. Progress reports
//! and fails never earn anything and never take anything away.

use akashi_model::EmailAddress;
use uuid::Uuid;

use crate::db::models::RuleRow;
use crate::domain::completion::{CompletionEvent, EventKind};

/// Whether `event` satisfies `rule`.
pub fn satisfies(rule: &RuleRow, event: &CompletionEvent) -> bool {
    explain(rule, event).is_ok()
}

/// Why `event` satisfies `rule` (the conditions that held, in words), or
/// the first condition that failed. This is the decision log's sentence.
pub fn explain(rule: &RuleRow, event: &CompletionEvent) -> Result<Vec<String>, String> {
    if !rule.active {
        return Err("the rule is inactive".into());
    }
    if rule.course_id != event.course_id.as_str() {
        return Err(format!(
            "the event is about course {:?}, not {:?}",
            event.course_id.as_str(),
            rule.course_id
        ));
    }
    let mut held = vec![format!("course {:?}", rule.course_id)];
    match (&rule.activity_id, &event.activity_id) {
        (None, None) => {}
        (Some(want), Some(got)) if want == got => held.push(format!("activity {want:?}")),
        (Some(want), _) => return Err(format!("the event is not about activity {want:?}")),
        (None, Some(got)) => {
            return Err(format!(
                "the event is about activity {got:?}, and the rule asks for the course itself"
            ));
        }
    }
    match (event.kind, rule.min_grade) {
        (EventKind::Completed | EventKind::Passed, None) => {
            held.push(format!("{} (event kind)", event.kind.as_str()));
            Ok(held)
        }
        (EventKind::Completed | EventKind::Passed | EventKind::Graded, Some(minimum)) => match event.grade {
            Some(g) if g.value() >= minimum => {
                held.push(format!("grade {:.2} ≥ {minimum:.2}", g.value()));
                Ok(held)
            }
            Some(g) => Err(format!("grade {:.2} < {minimum:.2}", g.value())),
            None => Err(format!("no grade, and the rule asks for {minimum:.2}")),
        },
        (EventKind::Graded, None) => Err("a grade alone does not complete; the rule asks for a completion".into()),
        (EventKind::Progress, _) => Err("progress, not a completion".into()),
        (EventKind::Failed, _) => Err("a fail".into()),
    }
}

/// The rules among `rules` that `event` satisfies.
pub fn matching<'a>(rules: &'a [RuleRow], event: &CompletionEvent) -> Vec<&'a RuleRow> {
    rules.iter().filter(|r| satisfies(r, event)).collect()
}

/// The award's idempotency key: one award per (rule, learner, course run).
/// LMS events name no run, so the course id stands for it.
pub fn idempotency_key(rule_id: Uuid, learner: &EmailAddress, course_id: &str) -> String {
    format!("rule:{rule_id}:learner:{learner}:course:{course_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::completion::{CourseId, Grade, Learner};
    use chrono::Utc;

    fn rule(course: &str, activity: Option<&str>, min_grade: Option<f64>, active: bool) -> RuleRow {
        RuleRow {
            id: Uuid::new_v4(),
            issuer_id: Uuid::new_v4(),
            badge_class_id: Uuid::new_v4(),
            course_id: course.into(),
            active,
            created_at: Utc::now(),
            activity_id: activity.map(str::to_owned),
            min_grade,
        }
    }

    fn event(kind: EventKind, course: &str, activity: Option<&str>, grade: Option<f64>) -> CompletionEvent {
        CompletionEvent {
            external_id: "e".into(),
            kind,
            learner: Learner {
                email: Some(EmailAddress::parse("a@b.jp").unwrap()),
                ..Learner::default()
            },
            course_id: CourseId::parse(course).unwrap(),
            activity_id: activity.map(str::to_owned),
            completed_at: None,
            grade: grade.map(|g| Grade::parse(g).unwrap()),
            progress: None,
        }
    }

    #[test]
    fn a_course_rule_takes_completions_and_passes_of_that_course_only() {
        let r = rule("DEMO-101", None, None, true);
        assert!(satisfies(&r, &event(EventKind::Completed, "DEMO-101", None, None)));
        assert!(satisfies(&r, &event(EventKind::Passed, "DEMO-101", None, None)));
        assert!(
            !satisfies(&r, &event(EventKind::Completed, "demo-101", None, None)),
            "ids are exact"
        );
        assert!(
            !satisfies(&r, &event(EventKind::Completed, "DEMO-101", Some("quiz"), None)),
            "an activity is not the course"
        );
        for kind in [EventKind::Graded, EventKind::Progress, EventKind::Failed] {
            assert!(!satisfies(&r, &event(kind, "DEMO-101", None, Some(1.0))));
        }
        assert!(!satisfies(
            &rule("DEMO-101", None, None, false),
            &event(EventKind::Completed, "DEMO-101", None, None)
        ));
    }

    #[test]
    fn a_grade_rule_takes_any_score_at_or_above_its_threshold() {
        let r = rule("C", Some("quiz"), Some(0.8), true);
        assert!(satisfies(&r, &event(EventKind::Graded, "C", Some("quiz"), Some(0.8))));
        assert!(satisfies(&r, &event(EventKind::Passed, "C", Some("quiz"), Some(0.95))));
        assert!(!satisfies(&r, &event(EventKind::Graded, "C", Some("quiz"), Some(0.79))));
        assert!(
            !satisfies(&r, &event(EventKind::Completed, "C", Some("quiz"), None)),
            "no grade, no award"
        );
        assert!(!satisfies(&r, &event(EventKind::Graded, "C", Some("other"), Some(1.0))));
        assert!(!satisfies(&r, &event(EventKind::Failed, "C", Some("quiz"), Some(0.9))));
    }

    #[test]
    fn explanations_name_what_held_and_what_failed() {
        let r = rule("C", Some("quiz"), Some(0.8), true);
        let held = explain(&r, &event(EventKind::Graded, "C", Some("quiz"), Some(0.92))).unwrap();
        assert!(held.iter().any(|h| h == "grade 0.92 ≥ 0.80"), "{held:?}");
        assert_eq!(
            explain(&r, &event(EventKind::Graded, "C", Some("quiz"), Some(0.5))).unwrap_err(),
            "grade 0.50 < 0.80"
        );
        assert!(
            explain(&r, &event(EventKind::Completed, "D", Some("quiz"), None))
                .unwrap_err()
                .contains("course")
        );
    }

    #[test]
    fn the_key_is_per_rule_learner_and_course() {
        let id = Uuid::new_v4();
        let a = EmailAddress::parse("A@B.jp").unwrap();
        let b = EmailAddress::parse("a@b.jp").unwrap();
        assert_eq!(idempotency_key(id, &a, "C"), idempotency_key(id, &b, "C"));
        assert_ne!(idempotency_key(id, &a, "C"), idempotency_key(id, &a, "D"));
        assert_ne!(idempotency_key(id, &a, "C"), idempotency_key(Uuid::new_v4(), &a, "C"));
    }
}
