//! Rule definitions: what a learner must have done (a boolean tree of
//! conditions over events from any source and badges already held), who
//! may earn the badge (learner filters), whether it can be earned again,
//! when the award expires and whether an admin approves it first.
//!
//! A definition is evaluated against everything known of one learner
//! ([`LearnerFacts`]), never against one event alone: that is what lets a
//! badge need two courses, or a course and a badge, and what makes the
//! outcome independent of the order events arrive in. Each leaf is met by
//! the earliest event that satisfies it (ties broken by event id), so the
//! same facts always give the same verdict and the same cited events.
//!
//! JSON shape (externally tagged, as stored and as the admin API takes it):
//!
//! ```json
//! {"criteria": {"all": [
//!     {"completed": {"course": "DS-101"}},
//!     {"at_least": {"n": 2, "of": [
//!         {"grade": {"course": "DS-102", "activity": "quiz-1", "min": 0.8}},
//!         {"passed": {"course": "DS-103", "before": "2027-04-01T00:00:00Z"}},
//!         {"badge": "0190…"}]}}]},
//!  "filters": {"email_domains": ["example.ac.jp"], "cohorts": ["2026"]},
//!  "repeatable": false,
//!  "expires": {"after_days": 365},
//!  "requires_approval": false}
//! ```

use std::collections::BTreeSet;

use akashi_model::EmailAddress;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::completion::{CompletionEvent, EventKind, bounded_id};
use crate::domain::reason::{PlaceWords, Reason};
use serde_json::json;

/// How deep a tree may nest, and how many conditions it may hold: enough
/// for any pathway we have seen, small enough to explain on one screen.
const MAX_DEPTH: usize = 6;
const MAX_LEAVES: usize = 50;

/// One node of a rule's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Criterion {
    /// Every child holds.
    All(Vec<Criterion>),
    /// At least one child holds.
    Any(Vec<Criterion>),
    /// At least `n` of the children hold.
    AtLeast(AtLeast),
    /// The course (or one activity of it) completed or passed.
    Completed(ActivityCondition),
    /// The course (or activity) passed: a passing status (Open edX, xAPI
    /// `passed`, `result.success`), not a mere completion.
    Passed(ActivityCondition),
    /// A score at or above `min` (0–1) on the course or one item: AGS, xAPI
    /// scaled scores, Caliper and Canvas grades, graded completions.
    Grade(GradeCondition),
    /// A badge (class id) the learner already holds, unrevoked: pathways.
    Badge(Uuid),
}

/// `n` of `of`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtLeast {
    pub n: usize,
    pub of: Vec<Criterion>,
}

/// A course or one of its activities, within an optional window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityCondition {
    pub course: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Where the course lives: a webhook source (`moodle`, `canvas`, …) or
    /// an LTI platform (`lti:<platform id>`). Absent: that course id from
    /// any source (Moodle's course 42 and Canvas's course 42 alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(flatten)]
    pub window: Window,
}

/// A score threshold on a course or one of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeCondition {
    pub course: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Where the course lives: a webhook source (`moodle`, `canvas`, …) or
    /// an LTI platform (`lti:<platform id>`). Absent: that course id from
    /// any source (Moodle's course 42 and Canvas's course 42 alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub min: f64,
    #[serde(flatten)]
    pub window: Window,
}

/// When an event counts: on or after `after`, before `before`, and within
/// `within_days_of_enrolment` days of the learner's enrolment — the first
/// event of theirs the adapter received for that course (LMS events carry
/// no enrolment date of their own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days_of_enrolment: Option<u32>,
}

/// Who may earn the badge. Each non-empty list must match at least one of
/// the learner's values; empty lists do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// When the awarded badge expires (overrides the badge class's own expiry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expiry {
    /// On a fixed date.
    On(DateTime<Utc>),
    /// This many days after the award.
    AfterDays(u32),
}

impl Expiry {
    /// The expiry of an award made at `awarded_at`.
    pub fn for_award(&self, awarded_at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Expiry::On(at) => *at,
            Expiry::AfterDays(days) => awarded_at + Duration::days(i64::from(*days)),
        }
    }
}

/// A whole rule definition (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    pub criteria: Criterion,
    #[serde(default, skip_serializing_if = "is_default")]
    pub filters: LearnerFilter,
    /// `false`: a learner earns the badge once. `true`: every event that
    /// meets a condition of a satisfied tree earns it again (yearly
    /// compliance training, say).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeatable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Expiry>,
    /// Decisions wait in the approval queue until an admin approves them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_approval: bool,
}

fn is_default(f: &LearnerFilter) -> bool {
    *f == LearnerFilter::default()
}

/// Why a definition is refused (answered as 422).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct DefinitionError(pub String);

impl RuleDefinition {
    /// Parses and checks a definition from JSON.
    pub fn parse(value: &serde_json::Value) -> Result<Self, DefinitionError> {
        let def: RuleDefinition =
            serde_json::from_value(value.clone()).map_err(|e| DefinitionError(format!("definition: {e}")))?;
        def.check()?;
        Ok(def)
    }

    /// The one-condition definition of a simple rule.
    pub fn simple(course: &str, activity: Option<&str>, min_grade: Option<f64>) -> Self {
        Self::simple_from(course, activity, min_grade, None)
    }

    /// A simple rule on a course of one source or LTI platform.
    pub fn simple_from(course: &str, activity: Option<&str>, min_grade: Option<f64>, source: Option<&str>) -> Self {
        let criteria = match min_grade {
            None => Criterion::Completed(ActivityCondition {
                course: course.into(),
                activity: activity.map(str::to_owned),
                source: source.map(str::to_owned),
                window: Window::default(),
            }),
            Some(min) => Criterion::Grade(GradeCondition {
                course: course.into(),
                activity: activity.map(str::to_owned),
                source: source.map(str::to_owned),
                min,
                window: Window::default(),
            }),
        };
        RuleDefinition {
            criteria,
            filters: LearnerFilter::default(),
            repeatable: false,
            expires: None,
            requires_approval: false,
        }
    }

    fn check(&self) -> Result<(), DefinitionError> {
        let leaves = check_node(&self.criteria, 1)?;
        if leaves > MAX_LEAVES {
            return Err(DefinitionError(format!(
                "criteria: at most {MAX_LEAVES} conditions, not {leaves}"
            )));
        }
        if self.course_ids().is_empty() && self.prerequisite_badges().is_empty() {
            return Err(DefinitionError("criteria: name at least one course or badge".into()));
        }
        for d in &self.filters.email_domains {
            if d.is_empty() || d.contains('@') || d.chars().any(|c| c.is_whitespace() || c.is_uppercase()) {
                return Err(DefinitionError(format!(
                    "filters.email_domains: {d:?} is not a lower-case domain such as example.ac.jp"
                )));
            }
        }
        let lists = [
            &self.filters.cohorts,
            &self.filters.groups,
            &self.filters.sections,
            &self.filters.roles,
        ];
        for value in lists.into_iter().flatten() {
            bounded_id("filters", value).map_err(|e| DefinitionError(e.to_string()))?;
        }
        match self.expires {
            Some(Expiry::AfterDays(d)) if !(1..=36_500).contains(&d) => {
                Err(DefinitionError("expires.after_days: from 1 to 36500".into()))
            }
            _ => Ok(()),
        }
    }

    /// Every course the tree names, sorted, once each.
    pub fn course_ids(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        walk(&self.criteria, &mut |c| match c {
            Criterion::Completed(a) | Criterion::Passed(a) => {
                out.insert(a.course.clone());
            }
            Criterion::Grade(g) => {
                out.insert(g.course.clone());
            }
            _ => {}
        });
        out.into_iter().collect()
    }

    /// Every badge the tree asks the learner to hold already.
    pub fn prerequisite_badges(&self) -> Vec<Uuid> {
        let mut out = BTreeSet::new();
        walk(&self.criteria, &mut |c| {
            if let Criterion::Badge(b) = c {
                out.insert(*b);
            }
        });
        out.into_iter().collect()
    }

    /// The definition as stored.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn walk(c: &Criterion, f: &mut impl FnMut(&Criterion)) {
    f(c);
    match c {
        Criterion::All(children) | Criterion::Any(children) => children.iter().for_each(|c| walk(c, f)),
        Criterion::AtLeast(a) => a.of.iter().for_each(|c| walk(c, f)),
        _ => {}
    }
}

/// Checks one node; answers how many leaves it holds.
fn check_node(c: &Criterion, depth: usize) -> Result<usize, DefinitionError> {
    if depth > MAX_DEPTH {
        return Err(DefinitionError(format!("criteria: nested deeper than {MAX_DEPTH}")));
    }
    let children = |name: &str, children: &[Criterion]| -> Result<usize, DefinitionError> {
        if children.is_empty() {
            return Err(DefinitionError(format!(
                "criteria: {name} needs at least one condition"
            )));
        }
        children.iter().map(|c| check_node(c, depth + 1)).sum()
    };
    match c {
        Criterion::All(c) => children("all", c),
        Criterion::Any(c) => children("any", c),
        Criterion::AtLeast(a) => {
            if a.n == 0 || a.n > a.of.len() {
                return Err(DefinitionError(format!(
                    "criteria: at_least.n must be from 1 to the number of conditions ({})",
                    a.of.len()
                )));
            }
            children("at_least", &a.of)
        }
        Criterion::Completed(a) | Criterion::Passed(a) => {
            check_place(&a.course, a.activity.as_deref(), a.source.as_deref())?;
            check_window(&a.window)?;
            Ok(1)
        }
        Criterion::Grade(g) => {
            check_place(&g.course, g.activity.as_deref(), g.source.as_deref())?;
            if !(g.min.is_finite() && (0.0..=1.0).contains(&g.min)) {
                return Err(DefinitionError(
                    "criteria: grade.min must be a number from 0 to 1".into(),
                ));
            }
            check_window(&g.window)?;
            Ok(1)
        }
        Criterion::Badge(_) => Ok(1),
    }
}

fn check_place(course: &str, activity: Option<&str>, source: Option<&str>) -> Result<(), DefinitionError> {
    if let Some(source) = source {
        let platform = source
            .strip_prefix("lti:")
            .is_some_and(|id| Uuid::parse_str(id).is_ok());
        if !(platform || crate::sources::KNOWN_SOURCES.contains(&source)) {
            return Err(DefinitionError(format!(
                "criteria: source {source:?} is neither a webhook source ({}) nor an LTI platform (lti:<platform id>)",
                crate::sources::KNOWN_SOURCES.join(", ")
            )));
        }
    }
    // Ids are stored exactly as the LMS sends them: refuse rather than trim.
    let exact = |field: &str, v: &str| match bounded_id(field, v) {
        Ok(t) if t == v => Ok(()),
        Ok(_) => Err(DefinitionError(format!("criteria: {field} has surrounding spaces"))),
        Err(e) => Err(DefinitionError(format!("criteria: {e}"))),
    };
    exact("course", course)?;
    activity.map(|a| exact("activity", a)).transpose()?;
    Ok(())
}

fn check_window(w: &Window) -> Result<(), DefinitionError> {
    if let (Some(a), Some(b)) = (w.after, w.before)
        && a >= b
    {
        return Err(DefinitionError(
            "criteria: the window's after must be earlier than before".into(),
        ));
    }
    if let Some(d) = w.within_days_of_enrolment
        && !(1..=3650).contains(&d)
    {
        return Err(DefinitionError(
            "criteria: within_days_of_enrolment: from 1 to 3650".into(),
        ));
    }
    Ok(())
}

/// One event of the learner, as evaluation sees it.
#[derive(Debug, Clone)]
pub struct Fact {
    pub event_id: Uuid,
    /// What delivered it: a webhook source or `lti:<platform id>`.
    pub source: String,
    /// When it happened: the LMS's completion time, else its arrival.
    pub at: DateTime<Utc>,
    pub event: CompletionEvent,
}

/// What the filters read of a learner.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerAttributes {
    pub cohorts: Vec<String>,
    pub groups: Vec<String>,
    pub sections: Vec<String>,
    pub roles: Vec<String>,
}

/// Everything known of one learner that a rule can ask about.
#[derive(Debug, Clone)]
pub struct LearnerFacts {
    pub email: EmailAddress,
    pub events: Vec<Fact>,
    /// Badge classes held, unrevoked.
    pub badges: BTreeSet<Uuid>,
    pub attributes: LearnerAttributes,
}

/// A definition's verdict for one learner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub satisfied: bool,
    /// Conditions (leaves) met, of `total`: the learner's progress.
    pub met: usize,
    pub total: usize,
    /// What held, in words (the decision log's sentences).
    pub held: Vec<String>,
    /// What failed, in words ("why not").
    pub failed: Vec<String>,
    /// The same as `held`, as codes with parameters (for other languages).
    pub held_reasons: Vec<Reason>,
    /// The same as `failed`, as codes with parameters.
    pub failed_reasons: Vec<Reason>,
    /// The events that met a condition, earliest first.
    pub events: Vec<Uuid>,
}

impl Verdict {
    fn hold(&mut self, reason: Reason) {
        self.held.push(reason.english.clone());
        self.held_reasons.push(reason);
    }

    fn fail(&mut self, reason: Reason) {
        self.failed.push(reason.english.clone());
        self.failed_reasons.push(reason);
    }

    /// A filter's refusal comes before everything else.
    fn fail_first(&mut self, reason: Reason) {
        self.failed.insert(0, reason.english.clone());
        self.failed_reasons.insert(0, reason);
    }
}

/// Evaluates `def` for one learner.
pub fn evaluate(def: &RuleDefinition, facts: &LearnerFacts) -> Verdict {
    let mut v = Verdict {
        satisfied: false,
        met: 0,
        total: 0,
        held: vec![],
        failed: vec![],
        held_reasons: vec![],
        failed_reasons: vec![],
        events: vec![],
    };
    let mut met_events: Vec<(DateTime<Utc>, Uuid)> = vec![];
    let tree = node(&def.criteria, facts, &mut v, &mut met_events);
    met_events.sort();
    met_events.dedup();
    v.events = met_events.into_iter().map(|(_, id)| id).collect();
    match filter_failure(&def.filters, facts) {
        Some(reason) => {
            v.fail_first(reason);
            v.satisfied = false;
        }
        None => {
            v.satisfied = tree;
            if tree {
                for reason in filter_held(&def.filters) {
                    v.hold(reason);
                }
            }
        }
    }
    v
}

fn node(c: &Criterion, facts: &LearnerFacts, v: &mut Verdict, met: &mut Vec<(DateTime<Utc>, Uuid)>) -> bool {
    let count = |children: &[Criterion], v: &mut Verdict, met: &mut Vec<_>| {
        children.iter().filter(|c| node(c, facts, v, met)).count()
    };
    match c {
        Criterion::All(children) => {
            let n = count(children, v, met);
            let ok = n == children.len();
            if !ok {
                let of = children.len();
                v.fail(Reason::new(
                    "all_needed",
                    json!({"of": of, "met": n}),
                    format!("all of {of} conditions needed, {n} met"),
                ));
            }
            ok
        }
        Criterion::Any(children) => {
            let n = count(children, v, met);
            if n == 0 {
                let of = children.len();
                v.fail(Reason::new(
                    "no_alternative",
                    json!({"of": of}),
                    format!("none of {of} alternatives met"),
                ));
            }
            n > 0
        }
        Criterion::AtLeast(a) => {
            let n = count(&a.of, v, met);
            let ok = n >= a.n;
            let (of, needed) = (a.of.len(), a.n);
            let params = json!({"met": n, "of": of, "needed": needed});
            if ok {
                v.hold(Reason::new(
                    "at_least_met",
                    params,
                    format!("{n} of {of} conditions met ({needed} needed)"),
                ));
            } else {
                v.fail(Reason::new(
                    "at_least_missing",
                    params,
                    format!("{n} of {of} conditions met, {needed} needed"),
                ));
            }
            ok
        }
        Criterion::Badge(badge) => {
            v.total += 1;
            if facts.badges.contains(badge) {
                v.met += 1;
                v.hold(Reason::new(
                    "holds_badge",
                    json!({"badge": badge}),
                    format!("holds badge {badge}"),
                ));
                true
            } else {
                v.fail(Reason::new(
                    "lacks_badge",
                    json!({"badge": badge}),
                    format!("does not hold badge {badge}"),
                ));
                false
            }
        }
        leaf => {
            v.total += 1;
            match leaf_match(leaf, facts) {
                Ok((fact, said)) => {
                    v.met += 1;
                    v.hold(said);
                    met.push((fact.at, fact.event_id));
                    true
                }
                Err(reason) => {
                    v.fail(reason);
                    false
                }
            }
        }
    }
}

/// The earliest fact meeting a leaf, with what held; or why none does.
fn leaf_match<'a>(leaf: &Criterion, facts: &'a LearnerFacts) -> Result<(&'a Fact, Reason), Reason> {
    let Some(place) = event_condition(leaf) else {
        return Err(Reason::new(
            "not_an_event_condition",
            json!({}),
            "not a condition on events".into(),
        ));
    };
    let window = place.window;
    let words = PlaceWords {
        course: place.course.to_string(),
        activity: place.activity.cloned(),
        source: place.source.map(str::to_owned),
    };
    let enrolment = enrolment(facts, &place);
    let mut best: Option<&Fact> = None;
    let mut last_miss: Option<Reason> = None;
    for f in &facts.events {
        if !place.holds(f) {
            continue;
        }
        let verdict = event_meets(leaf, &f.event).and_then(|()| in_window(window, f.at, enrolment));
        match verdict {
            Ok(()) => {
                if best.is_none_or(|b| (f.at, f.event_id) < (b.at, b.event_id)) {
                    best = Some(f);
                }
            }
            Err(reason) => last_miss = Some(reason),
        }
    }
    let place_text = words.english();
    match best {
        Some(f) => {
            let what = match leaf {
                Criterion::Completed(_) => {
                    let kind = f.event.kind.as_str();
                    Reason::new("completed", json!({"kind": kind}), format!("{place_text} {kind}"))
                }
                Criterion::Passed(_) => Reason::new("passed", json!({}), format!("{place_text} passed")),
                Criterion::Grade(g) => {
                    let grade = f.event.grade.map(|g| g.value()).unwrap_or_default();
                    Reason::new(
                        "grade_reached",
                        json!({"grade": grade, "min": g.min}),
                        format!("{place_text}: grade {grade:.2} ≥ {:.2}", g.min),
                    )
                }
                _ => unreachable!("leaf_match is only called on event conditions"),
            };
            Ok((f, what.about(&words)))
        }
        None => Err(last_miss
            .unwrap_or_else(|| Reason::new("no_event", json!({}), "no event yet".into()))
            .at(&words)),
    }
}

/// Whether the event `event_id` of the learner meets any condition of the
/// tree by itself (whether or not an earlier event met it first): what
/// makes a repeatable rule award again.
pub fn meets_a_condition(def: &RuleDefinition, facts: &LearnerFacts, event_id: Uuid) -> bool {
    let Some(fact) = facts.events.iter().find(|f| f.event_id == event_id) else {
        return false;
    };
    let mut found = false;
    walk(&def.criteria, &mut |c| {
        let Some(place) = event_condition(c) else {
            return;
        };
        if !place.holds(fact) {
            return;
        }
        found |=
            event_meets(c, &fact.event).is_ok() && in_window(place.window, fact.at, enrolment(facts, &place)).is_ok();
    });
    found
}

/// Where a condition on events looks: a course (of one source, if named),
/// optionally one of its activities, within a window.
struct Place<'a> {
    course: &'a str,
    activity: Option<&'a String>,
    source: Option<&'a str>,
    window: &'a Window,
}

impl Place<'_> {
    /// Whether `f` happened here: same course (of the named source) and activity.
    fn holds(&self, f: &Fact) -> bool {
        self.in_course(f) && f.event.activity_id.as_ref() == self.activity
    }

    fn in_course(&self, f: &Fact) -> bool {
        f.event.course_id.as_str() == self.course && self.source.is_none_or(|s| s == f.source)
    }
}

/// The place of a condition on events (not a badge or a combination).
fn event_condition(c: &Criterion) -> Option<Place<'_>> {
    let (course, activity, source, window) = match c {
        Criterion::Completed(a) | Criterion::Passed(a) => (&a.course, &a.activity, &a.source, &a.window),
        Criterion::Grade(g) => (&g.course, &g.activity, &g.source, &g.window),
        _ => return None,
    };
    Some(Place {
        course,
        activity: activity.as_ref(),
        source: source.as_deref(),
        window,
    })
}

/// The learner's enrolment in the place's course: their first event of it.
fn enrolment(facts: &LearnerFacts, place: &Place<'_>) -> Option<DateTime<Utc>> {
    facts.events.iter().filter(|f| place.in_course(f)).map(|f| f.at).min()
}

fn event_meets(leaf: &Criterion, e: &CompletionEvent) -> Result<(), Reason> {
    let kind = e.kind.as_str();
    match (leaf, e.kind) {
        (Criterion::Completed(_), EventKind::Completed | EventKind::Passed) => Ok(()),
        (Criterion::Passed(_), EventKind::Passed) => Ok(()),
        (Criterion::Grade(g), EventKind::Completed | EventKind::Passed | EventKind::Graded) => match e.grade {
            Some(grade) if grade.value() >= g.min => Ok(()),
            Some(grade) => Err(Reason::new(
                "grade_below",
                json!({"grade": grade.value(), "min": g.min}),
                format!("grade {:.2} < {:.2}", grade.value(), g.min),
            )),
            None => Err(Reason::new(
                "no_grade",
                json!({"min": g.min}),
                format!("no grade, and the rule asks for {:.2}", g.min),
            )),
        },
        (_, EventKind::Progress) => Err(Reason::new(
            "progress_only",
            json!({}),
            "progress, not a completion".into(),
        )),
        (_, EventKind::Failed) => Err(Reason::new("failed_attempt", json!({}), "a fail".into())),
        (Criterion::Passed(_), _) => Err(Reason::new(
            "not_a_pass",
            json!({"kind": kind}),
            format!("{kind}, not a pass"),
        )),
        (_, _) => Err(Reason::new(
            "not_completing",
            json!({"kind": kind}),
            format!("a {kind} event does not complete"),
        )),
    }
}

fn in_window(w: &Window, at: DateTime<Utc>, enrolment: Option<DateTime<Utc>>) -> Result<(), Reason> {
    let day = |t: DateTime<Utc>| t.format("%F").to_string();
    if let Some(after) = w.after
        && at < after
    {
        return Err(Reason::new(
            "before_window",
            json!({"at": day(at), "opens": day(after)}),
            format!("{} is before the window opens ({})", day(at), day(after)),
        ));
    }
    if let Some(before) = w.before
        && at >= before
    {
        return Err(Reason::new(
            "after_window",
            json!({"at": day(at), "closed": day(before)}),
            format!("{} is after the window closed ({})", day(at), day(before)),
        ));
    }
    if let (Some(days), Some(start)) = (w.within_days_of_enrolment, enrolment)
        && at > start + Duration::days(i64::from(days))
    {
        return Err(Reason::new(
            "after_enrolment_window",
            json!({"at": day(at), "days": days, "enrolled": day(start)}),
            format!("{} is more than {days} days after enrolment ({})", day(at), day(start)),
        ));
    }
    Ok(())
}

fn filter_failure(f: &LearnerFilter, facts: &LearnerFacts) -> Option<Reason> {
    let domain = facts
        .email
        .as_str()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if !f.email_domains.is_empty() && !f.email_domains.contains(&domain) {
        return Some(Reason::new(
            "email_domain_excluded",
            json!({"domain": domain, "allowed": f.email_domains}),
            format!("e-mail domain {domain} is not one of {:?}", f.email_domains),
        ));
    }
    let a = &facts.attributes;
    let checks = [
        ("cohort", &f.cohorts, &a.cohorts),
        ("group", &f.groups, &a.groups),
        ("section", &f.sections, &a.sections),
        ("role", &f.roles, &a.roles),
    ];
    checks.into_iter().find_map(|(what, wanted, has)| {
        (!wanted.is_empty() && !wanted.iter().any(|w| has.contains(w))).then(|| {
            Reason::new(
                "not_in_group",
                json!({"attribute": what, "wanted": wanted}),
                format!("the learner is in no {what} of {wanted:?}"),
            )
        })
    })
}

fn filter_held(f: &LearnerFilter) -> Vec<Reason> {
    let mut out = vec![];
    if !f.email_domains.is_empty() {
        out.push(Reason::new(
            "email_domain_in",
            json!({"allowed": f.email_domains}),
            format!("e-mail domain in {:?}", f.email_domains),
        ));
    }
    for (what, list) in [
        ("cohort", &f.cohorts),
        ("group", &f.groups),
        ("section", &f.sections),
        ("role", &f.roles),
    ] {
        if !list.is_empty() {
            out.push(Reason::new(
                "in_group",
                json!({"attribute": what, "wanted": list}),
                format!("{what} in {list:?}"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::completion::{CourseId, Grade, Learner};
    use chrono::TimeZone;
    use serde_json::json;

    fn def(v: serde_json::Value) -> RuleDefinition {
        RuleDefinition::parse(&v).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, day, 12, 0, 0).unwrap()
    }

    fn fact(n: u128, kind: EventKind, course: &str, activity: Option<&str>, grade: Option<f64>, day: u32) -> Fact {
        Fact {
            event_id: Uuid::from_u128(n),
            source: "generic".into(),
            at: at(day),
            event: CompletionEvent {
                external_id: format!("e{n}"),
                kind,
                learner: Learner::default(),
                course_id: CourseId::parse(course).unwrap(),
                activity_id: activity.map(str::to_owned),
                completed_at: Some(at(day)),
                grade: grade.map(|g| Grade::parse(g).unwrap()),
                progress: None,
            },
        }
    }

    fn learner(events: Vec<Fact>) -> LearnerFacts {
        LearnerFacts {
            email: EmailAddress::parse("hanako@example.ac.jp").unwrap(),
            events,
            badges: BTreeSet::new(),
            attributes: LearnerAttributes::default(),
        }
    }

    #[test]
    fn a_course_of_one_source_is_not_the_same_id_elsewhere() {
        let moodle_42 = RuleDefinition::simple_from("42", None, None, Some("moodle"));
        let any_42 = RuleDefinition::simple("42", None, None);
        let mut from_canvas = fact(1, EventKind::Completed, "42", None, None, 1);
        from_canvas.source = "canvas".into();
        let canvas = learner(vec![from_canvas.clone()]);
        assert!(!evaluate(&moodle_42, &canvas).satisfied);
        assert_eq!(
            evaluate(&moodle_42, &canvas).failed,
            vec![r#"course "42" (moodle): no event yet"#]
        );
        assert!(
            evaluate(&any_42, &canvas).satisfied,
            "an unqualified course keeps its meaning"
        );
        let mut from_moodle = from_canvas;
        from_moodle.source = "moodle".into();
        assert!(evaluate(&moodle_42, &learner(vec![from_moodle])).satisfied);
        // Sources are named as the adapter knows them.
        let bad = serde_json::json!({"criteria": {"completed": {"course": "42", "source": "blackboard"}}});
        assert!(RuleDefinition::parse(&bad).is_err());
        let platform = serde_json::json!({"criteria": {"completed": {"course": "42", "source": "lti:0193f7c2-5b1e-7a40-9c1d-2f6e8a1b3c4d"}}});
        assert!(RuleDefinition::parse(&platform).is_ok());
    }

    #[test]
    fn a_simple_definition_is_the_old_rule() {
        let d = RuleDefinition::simple("C", None, None);
        let l = learner(vec![fact(1, EventKind::Completed, "C", None, None, 1)]);
        assert!(evaluate(&d, &l).satisfied);
        let quiz = RuleDefinition::simple("C", Some("quiz"), Some(0.8));
        let l = learner(vec![fact(1, EventKind::Graded, "C", Some("quiz"), Some(0.5), 1)]);
        let v = evaluate(&quiz, &l);
        assert!(!v.satisfied);
        assert_eq!(v.failed, vec![r#"activity "quiz" of course "C": grade 0.50 < 0.80"#]);
        assert_eq!(
            serde_json::to_value(&quiz).unwrap(),
            json!({"criteria": {"grade": {"course": "C", "activity": "quiz", "min": 0.8}}})
        );
    }

    #[test]
    fn trees_count_their_conditions_and_name_what_failed() {
        let d = def(json!({"criteria": {"all": [
            {"completed": {"course": "A"}},
            {"at_least": {"n": 2, "of": [
                {"grade": {"course": "B", "min": 0.7}},
                {"passed": {"course": "C"}},
                {"completed": {"course": "D"}}]}}]}}));
        let mut l = learner(vec![
            fact(1, EventKind::Completed, "A", None, None, 1),
            fact(2, EventKind::Graded, "B", None, Some(0.9), 2),
            fact(3, EventKind::Completed, "C", None, None, 3),
        ]);
        let v = evaluate(&d, &l);
        assert!(!v.satisfied);
        assert_eq!((v.met, v.total), (2, 4));
        assert!(
            v.failed.iter().any(|f| f == r#"course "C": completed, not a pass"#),
            "{v:?}"
        );
        assert!(v.failed.iter().any(|f| f == "1 of 3 conditions met, 2 needed"), "{v:?}");
        l.events.push(fact(4, EventKind::Completed, "D", None, None, 4));
        let v = evaluate(&d, &l);
        assert!(v.satisfied, "{v:?}");
        assert_eq!((v.met, v.total), (3, 4));
        assert_eq!(
            v.events,
            vec![Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(4)]
        );
    }

    #[test]
    fn windows_bound_when_an_event_counts() {
        let d = def(json!({"criteria": {"completed": {"course": "A",
            "after": "2026-10-05T00:00:00Z", "before": "2026-10-10T00:00:00Z"}}}));
        assert!(!evaluate(&d, &learner(vec![fact(1, EventKind::Completed, "A", None, None, 4)])).satisfied);
        assert!(evaluate(&d, &learner(vec![fact(1, EventKind::Completed, "A", None, None, 5)])).satisfied);
        let late = evaluate(&d, &learner(vec![fact(1, EventKind::Completed, "A", None, None, 10)]));
        assert!(late.failed[0].contains("after the window closed"), "{late:?}");

        let d = def(json!({"criteria": {"completed": {"course": "A", "within_days_of_enrolment": 7}}}));
        let enrolled = fact(1, EventKind::Progress, "A", None, None, 1);
        assert!(
            evaluate(
                &d,
                &learner(vec![
                    enrolled.clone(),
                    fact(2, EventKind::Completed, "A", None, None, 8)
                ])
            )
            .satisfied
        );
        let v = evaluate(
            &d,
            &learner(vec![enrolled, fact(2, EventKind::Completed, "A", None, None, 9)]),
        );
        assert!(v.failed[0].contains("more than 7 days after enrolment"), "{v:?}");
    }

    #[test]
    fn filters_and_prerequisite_badges() {
        let badge = Uuid::from_u128(77);
        let d = def(
            json!({"criteria": {"all": [{"badge": badge}, {"completed": {"course": "A"}}]},
            "filters": {"email_domains": ["example.ac.jp"], "cohorts": ["2026"]}}),
        );
        let mut l = learner(vec![fact(1, EventKind::Completed, "A", None, None, 1)]);
        let v = evaluate(&d, &l);
        assert_eq!(v.failed[0], r#"the learner is in no cohort of ["2026"]"#);
        l.attributes.cohorts = vec!["2026".into()];
        assert_eq!(
            evaluate(&d, &l).failed,
            vec![
                format!("does not hold badge {badge}"),
                "all of 2 conditions needed, 1 met".into()
            ]
        );
        l.badges.insert(badge);
        assert!(evaluate(&d, &l).satisfied);
        l.email = EmailAddress::parse("x@other.jp").unwrap();
        assert!(evaluate(&d, &l).failed[0].starts_with("e-mail domain other.jp"));
        assert_eq!(d.prerequisite_badges(), vec![badge]);
        assert_eq!(d.course_ids(), vec!["A".to_string()]);
    }

    #[test]
    fn bad_definitions_are_refused_with_the_reason() {
        for (v, why) in [
            (json!({"criteria": {"all": []}}), "needs at least one"),
            (
                json!({"criteria": {"at_least": {"n": 3, "of": [{"completed": {"course": "A"}}]}}}),
                "at_least.n",
            ),
            (json!({"criteria": {"grade": {"course": "A", "min": 1.5}}}), "grade.min"),
            (json!({"criteria": {"completed": {"course": " A"}}}), "spaces"),
            (
                json!({"criteria": {"completed": {"course": "A", "colour": "red"}}}),
                "unknown field",
            ),
            (
                json!({"criteria": {"completed": {"course": "A"}}, "expires": {"after_days": 0}}),
                "after_days",
            ),
            (
                json!({"criteria": {"completed": {"course": "A"}}, "filters": {"email_domains": ["@x.jp"]}}),
                "email_domains",
            ),
            (
                json!({"criteria": {"completed": {"course": "A",
                "after": "2026-10-10T00:00:00Z", "before": "2026-10-01T00:00:00Z"}}}),
                "earlier",
            ),
            (
                json!({"criteria": {"all": [{"all": [{"all": [{"all": [{"all": [{"all": [
                {"completed": {"course": "A"}}]}]}]}]}]}]}}),
                "deeper",
            ),
        ] {
            let err = RuleDefinition::parse(&v).unwrap_err();
            assert!(err.0.contains(why), "{v}: {err}");
        }
    }

    use proptest::prelude::*;

    fn arb_leaf() -> impl Strategy<Value = Criterion> {
        let course = prop_oneof![Just("A"), Just("B"), Just("C")].prop_map(String::from);
        let activity = proptest::option::of(Just("quiz".to_string()));
        let window = proptest::option::of(1u32..28).prop_map(|after| Window {
            after: after.map(at),
            ..Window::default()
        });
        prop_oneof![
            (course.clone(), activity.clone(), window.clone()).prop_map(|(course, activity, window)| {
                Criterion::Completed(ActivityCondition {
                    course,
                    activity,
                    source: None,
                    window,
                })
            }),
            (course.clone(), activity.clone(), window.clone()).prop_map(|(course, activity, window)| {
                Criterion::Passed(ActivityCondition {
                    course,
                    activity,
                    source: None,
                    window,
                })
            }),
            (course, activity, 0u8..=100, window).prop_map(|(course, activity, min, window)| {
                Criterion::Grade(GradeCondition {
                    course,
                    activity,
                    source: None,
                    min: f64::from(min) / 100.0,
                    window,
                })
            }),
        ]
    }

    fn arb_tree() -> impl Strategy<Value = Criterion> {
        arb_leaf().prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Criterion::All),
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Criterion::Any),
                (proptest::collection::vec(inner, 1..4), any::<usize>()).prop_map(|(of, n)| {
                    let n = 1 + n % of.len();
                    Criterion::AtLeast(AtLeast { n, of })
                }),
            ]
        })
    }

    fn arb_fact() -> impl Strategy<Value = (usize, Fact)> {
        let kinds = prop_oneof![
            Just(EventKind::Completed),
            Just(EventKind::Passed),
            Just(EventKind::Graded),
            Just(EventKind::Progress),
            Just(EventKind::Failed),
        ];
        (
            0usize..3,
            any::<u128>(),
            kinds,
            prop_oneof![Just("A"), Just("B"), Just("C")],
            proptest::option::of(Just("quiz")),
            proptest::option::of(0u8..=100),
            1u32..28,
        )
            .prop_map(|(who, id, kind, course, activity, grade, day)| {
                (
                    who,
                    fact(id, kind, course, activity, grade.map(|g| f64::from(g) / 100.0), day),
                )
            })
    }

    /// The learners a stream of events awards, deciding after each arrival
    /// on everything received so far (what the adapter does); a learner's
    /// award, once decided, is never decided again.
    fn live_awards(d: &RuleDefinition, stream: &[(usize, Fact)]) -> BTreeSet<usize> {
        let mut seen: Vec<Vec<Fact>> = vec![vec![]; 3];
        let mut awarded = BTreeSet::new();
        for (who, f) in stream {
            seen[*who].push(f.clone());
            if evaluate(d, &learner(seen[*who].clone())).satisfied {
                awarded.insert(*who);
            }
        }
        awarded
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Event order and redelivery never change who is awarded, and the
        /// retroactive evaluation (everything at once, what dry run and
        /// apply use) awards exactly whom the live decisions do.
        #[test]
        fn order_and_duplicates_do_not_change_the_outcome(
            tree in arb_tree(),
            stream in proptest::collection::vec(arb_fact(), 0..25),
            seed in any::<u64>(),
            dup in any::<usize>(),
        ) {
            let d = RuleDefinition { criteria: tree, ..RuleDefinition::simple("A", None, None) };
            let once = live_awards(&d, &stream);
            let mut shuffled = stream.clone();
            for i in (1..shuffled.len()).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(&live_awards(&d, &shuffled), &once);
            let mut doubled = stream.clone();
            doubled.extend(stream.iter().cloned());
            if let Some(f) = stream.get(dup % stream.len().max(1)) {
                doubled.extend(std::iter::repeat_n(f.clone(), 5));
            }
            prop_assert_eq!(&live_awards(&d, &doubled), &once);
            let retroactive: BTreeSet<usize> = (0..3)
                .filter(|who| {
                    let all: Vec<Fact> = stream.iter().filter(|(w, _)| w == who).map(|(_, f)| f.clone()).collect();
                    evaluate(&d, &learner(all)).satisfied
                })
                .collect();
            prop_assert_eq!(&retroactive, &once);
            // The verdict itself (progress, cited events) is order-free too.
            for who in 0..3 {
                let mine = |s: &[(usize, Fact)]| -> Vec<Fact> {
                    s.iter().filter(|(w, _)| *w == who).map(|(_, f)| f.clone()).collect()
                };
                let a = evaluate(&d, &learner(mine(&stream)));
                let b = evaluate(&d, &learner(mine(&shuffled)));
                prop_assert_eq!((a.met, a.total, &a.events), (b.met, b.total, &b.events));
            }
        }
    }
}
