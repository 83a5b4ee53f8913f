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

/// The event that earns `rule` for a learner among their events, in
/// arrival order: the first that satisfies it (the decision log cites it).
/// Whether one exists does not depend on the order or on duplicates.
pub fn first_satisfying<'a>(
    rule: &RuleRow,
    events: &'a [CompletionEvent],
) -> Option<(&'a CompletionEvent, Vec<String>)> {
    events.iter().find_map(|e| explain(rule, e).ok().map(|held| (e, held)))
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

    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn arb_event() -> impl Strategy<Value = (usize, CompletionEvent)> {
        let kinds = prop_oneof![
            Just(EventKind::Completed),
            Just(EventKind::Passed),
            Just(EventKind::Graded),
            Just(EventKind::Progress),
            Just(EventKind::Failed),
        ];
        (
            0usize..4,
            kinds,
            prop_oneof![Just("C"), Just("D")],
            proptest::option::of(prop_oneof![Just("quiz"), Just("essay")]),
            proptest::option::of(0u8..=100),
        )
            .prop_map(|(learner, kind, course, activity, grade)| {
                let mut e = event(kind, course, activity, grade.map(|g| f64::from(g) / 100.0));
                e.learner.email = Some(EmailAddress::parse(&format!("l{learner}@b.jp")).unwrap());
                (learner, e)
            })
    }

    fn arb_rules() -> impl Strategy<Value = Vec<RuleRow>> {
        proptest::collection::vec(
            (
                prop_oneof![Just("C"), Just("D")],
                proptest::option::of(prop_oneof![Just("quiz"), Just("essay")]),
                proptest::option::of(0u8..=100),
            )
                .prop_map(|(course, activity, min)| rule(course, activity, min.map(|m| f64::from(m) / 100.0), true)),
            1..4,
        )
    }

    /// The award keys a stream of events produces, deciding each as it
    /// arrives (the decisions' unique key drops a second award).
    fn decided_keys(rules: &[RuleRow], events: &[(usize, CompletionEvent)]) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for (_, e) in events {
            for r in matching(rules, e) {
                keys.insert(idempotency_key(
                    r.id,
                    e.learner.email.as_ref().unwrap(),
                    e.course_id.as_str(),
                ));
            }
        }
        keys
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn event_order_and_duplicates_do_not_change_the_awards(
            rules in arb_rules(),
            events in proptest::collection::vec(arb_event(), 0..30),
            seed in any::<u64>(),
            dup in 0usize..30,
        ) {
            let once = decided_keys(&rules, &events);
            // Another order.
            let mut shuffled = events.clone();
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(&decided_keys(&rules, &shuffled), &once);
            // Every event delivered again (and one of them many times).
            let mut doubled = events.clone();
            doubled.extend(events.iter().cloned());
            if let Some(e) = events.get(dup % events.len().max(1)) {
                doubled.extend(std::iter::repeat_n(e.clone(), 5));
            }
            prop_assert_eq!(&decided_keys(&rules, &doubled), &once);
            // The retroactive evaluation (first satisfying event per learner)
            // awards exactly the learners the live decisions do.
            for r in &rules {
                for learner in 0..4 {
                    let theirs: Vec<CompletionEvent> =
                        events.iter().filter(|(l, _)| *l == learner).map(|(_, e)| e.clone()).collect();
                    let email = EmailAddress::parse(&format!("l{learner}@b.jp")).unwrap();
                    let live = once.contains(&idempotency_key(r.id, &email, &r.course_id));
                    prop_assert_eq!(first_satisfying(r, &theirs).is_some(), live);
                }
            }
        }
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
