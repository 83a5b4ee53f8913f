//! How long one rule evaluation takes — what every event costs per rule it
//! touches — for a pathway-sized tree over a learner with many events.
//!
//!     cargo bench -p lms-adapter --bench rule_evaluation -- [events] [conditions]
//!
//! Prints the mean wall time per evaluation (in-memory: the database reads
//! around it are measured by the end-to-end latency tool).

use std::collections::BTreeSet;
use std::time::Instant;

use akashi_model::EmailAddress;
use chrono::{Duration, TimeZone, Utc};
use lms_adapter::domain::completion::{CompletionEvent, CourseId, EventKind, Grade, Learner};
use lms_adapter::domain::criteria::{Fact, LearnerAttributes, LearnerFacts, RuleDefinition, evaluate};
use serde_json::json;
use uuid::Uuid;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let conditions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    // at_least half of `conditions` grade/completion conditions, each on its own course.
    let leaves: Vec<_> = (0..conditions)
        .map(|i| {
            if i % 2 == 0 {
                json!({"completed": {"course": format!("C-{i}")}})
            } else {
                json!({"grade": {"course": format!("C-{i}"), "min": 0.7, "after": "2026-01-01T00:00:00Z"}})
            }
        })
        .collect();
    let def = RuleDefinition::parse(&json!({
        "criteria": {"all": [{"at_least": {"n": conditions / 2, "of": leaves}}]},
        "filters": {"email_domains": ["example.ac.jp"]}
    }))
    .expect("a valid definition");
    let start = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    let kinds = [EventKind::Progress, EventKind::Graded, EventKind::Completed];
    let facts = LearnerFacts {
        email: EmailAddress::parse("hanako@example.ac.jp").unwrap(),
        events: (0..events)
            .map(|n| Fact {
                event_id: Uuid::from_u128(n as u128),
                source: "generic".into(),
                at: start + Duration::hours(n as i64),
                event: CompletionEvent {
                    external_id: format!("e{n}"),
                    kind: kinds[n % kinds.len()],
                    learner: Learner::default(),
                    course_id: CourseId::parse(&format!("C-{}", n % conditions)).unwrap(),
                    activity_id: None,
                    completed_at: None,
                    grade: Some(Grade::parse((n % 100) as f64 / 100.0).unwrap()),
                    progress: None,
                },
            })
            .collect(),
        badges: BTreeSet::new(),
        attributes: LearnerAttributes::default(),
    };
    let rounds = 2_000;
    let mut satisfied = 0;
    let t = Instant::now();
    for _ in 0..rounds {
        satisfied += usize::from(std::hint::black_box(evaluate(&def, &facts)).satisfied);
    }
    let per = t.elapsed() / rounds;
    println!("{events} events, {conditions} conditions: {per:?} per evaluation ({satisfied}/{rounds} satisfied)");
}
