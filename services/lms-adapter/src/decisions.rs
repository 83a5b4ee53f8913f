//! Recording events and deciding awards, in the caller's transaction.
//!
//! An event whose learner has an e-mail (sent, or known to the learner
//! directory) is decided at once: every rule it satisfies gets an award
//! decision and an `issue.requested` in the outbox. An event naming only an
//! LMS user id is stored `held`; when the directory learns that user
//! ([`learn_identity`]), every held event of theirs is decided then.

use std::collections::BTreeMap;

use akashi_bus::{Envelope, outbox};
use akashi_model::EmailAddress;
use akashi_model::messages::{AwardOrigin, EventObserved, IssueRequested, Recipient};
use akashi_runtime::ApiError;
use chrono::Utc;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::{EventRow, RuleRow};
use crate::db::schema::{
    award_decisions, known_awards, learner_attributes, learner_identities, lms_events, rule_progress, rules,
};
use crate::domain::completion::{CompletionEvent, CourseId, EventKind, Grade, Learner, Progress};
use crate::domain::criteria::{self, Fact, LearnerAttributes, LearnerFacts, RuleDefinition, Verdict};
use crate::domain::rules::idempotency_key;

/// What became of one event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventOutcome {
    /// The stored event's id.
    pub id: Uuid,
    /// `accepted` (stored and decided), `held` (stored; the learner's e-mail
    /// is not known yet) or `duplicate` (seen before; nothing new was done).
    pub status: &'static str,
    /// How many awards this event caused to be requested.
    pub awards_requested: usize,
}

/// What delivered an event: the source name and the tenant it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The webhook source (or an LTI platform's user source).
    pub source: &'a str,
    /// The tenant (issuer) of that source or LTI platform; `None` for a
    /// shared source. A tenant's rules see only its own events and shared ones.
    pub tenant: Option<Uuid>,
}

/// Stores `event` (unless seen before) and decides it if its learner is known.
pub async fn record(
    conn: &mut AsyncPgConnection,
    origin: Origin<'_>,
    raw_body: &str,
    event: &CompletionEvent,
    delivery_key: Option<&str>,
    correlation: &str,
) -> Result<EventOutcome, ApiError> {
    let source = origin.source;
    if let Some(existing) = find_existing(conn, source, &event.external_id, delivery_key).await? {
        return Ok(EventOutcome {
            id: existing,
            status: "duplicate",
            awards_requested: 0,
        });
    }
    if let (Some(email), Some(user)) = (&event.learner.email, &event.learner.lms_user_id) {
        learn_identity(
            conn,
            source,
            user,
            email,
            event.learner.name.as_deref(),
            "event",
            correlation,
        )
        .await?;
    }
    let known = match (&event.learner.email, &event.learner.lms_user_id) {
        (Some(email), _) => Some((email.clone(), event.learner.name.clone())),
        (None, Some(user)) => lookup(conn, source, user).await?,
        (None, None) => None,
    };
    let row = EventRow {
        id: Uuid::now_v7(),
        source: source.to_string(),
        external_id: event.external_id.clone(),
        raw_body: raw_body.to_string(),
        learner_email: known.as_ref().map(|(e, _)| e.to_string()),
        learner_name: event
            .learner
            .name
            .clone()
            .or_else(|| known.as_ref().and_then(|(_, n)| n.clone())),
        lms_user_id: event.learner.lms_user_id.clone(),
        course_id: event.course_id.as_str().to_string(),
        completed_at: event.completed_at,
        grade: event.grade.map(|g| g.value()),
        received_at: Utc::now(),
        kind: event.kind.as_str().to_string(),
        activity_id: event.activity_id.clone(),
        idempotency_key: delivery_key.map(str::to_owned),
        status: if known.is_some() { "decided" } else { "held" }.to_string(),
        progress_done: event.progress.map(|p| p.done),
        progress_total: event.progress.map(|p| p.total),
        tenant_issuer_id: origin.tenant,
    };
    // No conflict target: both the natural key and the delivery key are unique.
    let inserted = diesel::insert_into(lms_events::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 0 {
        let id = find_existing(conn, source, &event.external_id, delivery_key)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("an event conflicted but cannot be found")))?;
        return Ok(EventOutcome {
            id,
            status: "duplicate",
            awards_requested: 0,
        });
    }
    let Some((email, name)) = known else {
        tracing::info!(event_id = %row.id, source, "event held until the learner directory knows its learner");
        return Ok(EventOutcome {
            id: row.id,
            status: "held",
            awards_requested: 0,
        });
    };
    let recipient = Recipient {
        email,
        name,
        lms_user_id: event.learner.lms_user_id.clone(),
    };
    let awards = decide(conn, row.id, event, origin.tenant, &recipient, correlation).await?;
    Ok(EventOutcome {
        id: row.id,
        status: "accepted",
        awards_requested: awards,
    })
}

/// The events a tenant's rules may see: its own sources' and shared ones.
pub fn visible_to(
    tenant: Uuid,
) -> diesel::dsl::Or<
    diesel::dsl::Eq<lms_events::tenant_issuer_id, Uuid>,
    diesel::dsl::IsNull<lms_events::tenant_issuer_id>,
> {
    lms_events::tenant_issuer_id
        .eq(tenant)
        .or(lms_events::tenant_issuer_id.is_null())
}

async fn find_existing(
    conn: &mut AsyncPgConnection,
    source: &str,
    external_id: &str,
    delivery_key: Option<&str>,
) -> Result<Option<Uuid>, ApiError> {
    let mut q = lms_events::table
        .filter(lms_events::source.eq(source))
        .select(lms_events::id)
        .into_boxed();
    q = match delivery_key {
        Some(key) => q.filter(
            lms_events::external_id
                .eq(external_id)
                .or(lms_events::idempotency_key.eq(key)),
        ),
        None => q.filter(lms_events::external_id.eq(external_id)),
    };
    Ok(q.first(conn).await.optional()?)
}

/// Decides the awards of a stored event whose learner is known: every
/// active rule naming the event's course is evaluated on everything known
/// of the learner, their progress recorded, and a satisfied rule awarded.
/// An event of a tenant's source is seen by that tenant's rules only.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    event: &CompletionEvent,
    tenant: Option<Uuid>,
    recipient: &Recipient,
    correlation: &str,
) -> Result<usize, ApiError> {
    let mut query = rules::table
        .filter(
            rules::course_ids
                .contains(vec![event.course_id.as_str().to_string()])
                .and(rules::active.eq(true)),
        )
        .order(rules::created_at)
        .select(RuleRow::as_select())
        .into_boxed();
    if let Some(tenant) = tenant {
        query = query.filter(rules::issuer_id.eq(tenant));
    }
    let candidates: Vec<RuleRow> = query.load(conn).await?;
    decide_rules(conn, &candidates, recipient, Some(event_id), "event", correlation).await
}

/// Decides the rules that ask for `badge_class_id` as a prerequisite, for
/// a learner who has just been awarded it (pathways).
pub async fn decide_after_badge(
    conn: &mut AsyncPgConnection,
    badge_class_id: Uuid,
    recipient: &Recipient,
    correlation: &str,
) -> Result<usize, ApiError> {
    let candidates: Vec<RuleRow> = rules::table
        .filter(
            rules::prerequisite_badges
                .contains(vec![badge_class_id])
                .and(rules::active.eq(true)),
        )
        .order(rules::created_at)
        .select(RuleRow::as_select())
        .load(conn)
        .await?;
    decide_rules(conn, &candidates, recipient, None, "badge", correlation).await
}

async fn decide_rules(
    conn: &mut AsyncPgConnection,
    candidates: &[RuleRow],
    recipient: &Recipient,
    trigger: Option<Uuid>,
    decided_by: &str,
    correlation: &str,
) -> Result<usize, ApiError> {
    if candidates.is_empty() {
        return Ok(0);
    }
    // One learner's decisions in turn: two events (or badges) of theirs
    // decided at once would each miss the other's uncommitted row, and a
    // rule needing both would be met by neither. Waiting here, after our
    // own row is written, lets the second see the first once it commits.
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('akashi-learner:' || $1))")
        .bind::<diesel::sql_types::Text, _>(recipient.email.as_str())
        .execute(conn)
        .await?;
    let mut requested = 0;
    for rule in candidates {
        let Some(def) = definition_of(rule) else { continue };
        let mut known = load_facts(conn, &def, rule.issuer_id, Some(&recipient.email)).await?;
        let Some(facts) = known.remove(recipient.email.as_str()) else {
            continue;
        };
        let verdict = criteria::evaluate(&def, &facts.facts);
        record_progress(conn, rule, &recipient.email, &verdict).await?;
        if !verdict.satisfied {
            continue;
        }
        // A repeatable rule awards again only for an event that met one of
        // its conditions; anything else would re-award on every event.
        let deciding = match trigger {
            Some(t) if def.repeatable && criteria::meets_a_condition(&def, &facts.facts, t) => Some(t),
            _ if def.repeatable => continue,
            Some(t) if verdict.events.contains(&t) => Some(t),
            _ => verdict.events.last().copied(),
        };
        let decision = Decision {
            rule,
            definition: &def,
            verdict: &verdict,
            deciding_event: deciding,
            events: &facts.rows,
            recipient,
            decided_by,
        };
        if award(conn, &decision, correlation).await? {
            requested += 1;
        }
    }
    Ok(requested)
}

/// A rule's stored definition; a rule whose definition no longer parses
/// (never written by this code) is skipped and logged, not fatal.
pub fn definition_of(rule: &RuleRow) -> Option<RuleDefinition> {
    match RuleDefinition::parse(&rule.definition) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::error!(rule_id = %rule.id, error = %e, "stored rule definition does not parse; rule skipped");
            None
        }
    }
}

/// One learner's facts and the event rows behind them.
pub struct KnownLearner {
    pub facts: LearnerFacts,
    /// Their events in the rule's courses, in arrival order.
    pub rows: Vec<EventRow>,
}

/// Cohorts, groups, sections and roles, as stored.
type AttributeLists = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);

/// Most events one evaluation reads.
const MAX_EVENTS: i64 = 200_000;

/// Everything the rule can ask about, for one learner or (retroactively)
/// for everyone with an event in its courses or one of its prerequisite
/// badges. Keyed by e-mail. Only the events of `tenant`'s own sources and
/// of shared ones count: a course id of another tenant's LMS is not this
/// tenant's course, whatever it is called.
pub async fn load_facts(
    conn: &mut AsyncPgConnection,
    def: &RuleDefinition,
    tenant: Uuid,
    only: Option<&EmailAddress>,
) -> Result<BTreeMap<String, KnownLearner>, ApiError> {
    let courses = def.course_ids();
    let prerequisites = def.prerequisite_badges();
    let mut q = lms_events::table
        .filter(
            lms_events::course_id
                .eq_any(&courses)
                .and(lms_events::status.eq("decided"))
                .and(visible_to(tenant)),
        )
        .order((lms_events::received_at, lms_events::id))
        .limit(MAX_EVENTS)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(email) = only {
        q = q.filter(lms_events::learner_email.eq(email.as_str()));
    }
    let events: Vec<EventRow> = q.load(conn).await?;
    let mut badge_q = known_awards::table
        .filter(
            known_awards::revoked
                .eq(false)
                .and(known_awards::badge_class_id.eq_any(&prerequisites)),
        )
        .select((known_awards::learner_email, known_awards::badge_class_id))
        .into_boxed();
    if let Some(email) = only {
        badge_q = badge_q.filter(known_awards::learner_email.eq(email.as_str()));
    }
    let badges: Vec<(String, Uuid)> = if prerequisites.is_empty() {
        vec![]
    } else {
        badge_q.load(conn).await?
    };
    let mut out: BTreeMap<String, KnownLearner> = BTreeMap::new();
    if let Some(email) = only {
        entry(&mut out, email.as_str());
    }
    for row in events {
        let Some(email) = row.learner_email.clone() else {
            continue;
        };
        let Some(event) = event_from_row(&row) else { continue };
        let Some(known) = entry(&mut out, &email) else { continue };
        known.facts.events.push(Fact {
            event_id: row.id,
            source: row.source.clone(),
            at: row.completed_at.unwrap_or(row.received_at),
            event,
        });
        known.rows.push(row);
    }
    for (email, badge) in badges {
        if let Some(known) = entry(&mut out, &email) {
            known.facts.badges.insert(badge);
        }
    }
    let filters = &def.filters;
    if !(filters.cohorts.is_empty()
        && filters.groups.is_empty()
        && filters.sections.is_empty()
        && filters.roles.is_empty())
    {
        let emails: Vec<String> = out.keys().cloned().collect();
        let attributes: Vec<(String, AttributeLists)> = learner_attributes::table
            .filter(learner_attributes::email.eq_any(&emails))
            .select((
                learner_attributes::email,
                (
                    learner_attributes::cohorts,
                    learner_attributes::groups,
                    learner_attributes::sections,
                    learner_attributes::roles,
                ),
            ))
            .load(conn)
            .await?;
        for (email, (cohorts, groups, sections, roles)) in attributes {
            if let Some(known) = out.get_mut(&email) {
                known.facts.attributes = LearnerAttributes {
                    cohorts,
                    groups,
                    sections,
                    roles,
                };
            }
        }
    }
    Ok(out)
}

fn entry<'a>(out: &'a mut BTreeMap<String, KnownLearner>, email: &str) -> Option<&'a mut KnownLearner> {
    let parsed = EmailAddress::parse(email).ok()?;
    Some(out.entry(parsed.to_string()).or_insert_with(|| KnownLearner {
        facts: LearnerFacts {
            email: parsed,
            events: vec![],
            badges: Default::default(),
            attributes: LearnerAttributes::default(),
        },
        rows: vec![],
    }))
}

/// Keeps the learner's progress toward the rule current.
pub async fn record_progress(
    conn: &mut AsyncPgConnection,
    rule: &RuleRow,
    email: &EmailAddress,
    verdict: &Verdict,
) -> Result<(), ApiError> {
    let detail = serde_json::json!({
        "held": verdict.held,
        "failed": verdict.failed,
        "held_reasons": verdict.held_reasons,
        "failed_reasons": verdict.failed_reasons,
        "events": verdict.events,
    });
    diesel::insert_into(rule_progress::table)
        .values((
            rule_progress::rule_id.eq(rule.id),
            rule_progress::learner_email.eq(email.as_str()),
            rule_progress::met.eq(verdict.met as i32),
            rule_progress::total.eq(verdict.total as i32),
            rule_progress::satisfied.eq(verdict.satisfied),
            rule_progress::detail.eq(&detail),
        ))
        .on_conflict((rule_progress::rule_id, rule_progress::learner_email))
        .do_update()
        .set((
            rule_progress::met.eq(excluded(rule_progress::met)),
            rule_progress::total.eq(excluded(rule_progress::total)),
            rule_progress::satisfied.eq(excluded(rule_progress::satisfied)),
            rule_progress::detail.eq(excluded(rule_progress::detail)),
            rule_progress::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One award decision: a rule held for a learner.
pub struct Decision<'a> {
    pub rule: &'a RuleRow,
    pub definition: &'a RuleDefinition,
    pub verdict: &'a Verdict,
    /// The event that decided it (none when a prerequisite badge did).
    pub deciding_event: Option<Uuid>,
    /// The learner's events in the rule's courses (the verdict cites some).
    pub events: &'a [EventRow],
    pub recipient: &'a Recipient,
    /// `event`, `badge` or `retroactive`.
    pub decided_by: &'a str,
}

/// Records the decision (once per rule, learner and course, or per event
/// for a repeatable rule) with its explanation, and its `issue.requested`
/// — or, when the rule asks for approval, keeps the request pending.
/// `false`: decided before.
pub async fn award(conn: &mut AsyncPgConnection, d: &Decision<'_>, correlation: &str) -> Result<bool, ApiError> {
    let repeat = d.definition.repeatable.then_some(d.deciding_event).flatten();
    let key = idempotency_key(d.rule.id, &d.recipient.email, &d.rule.course_id, repeat);
    let cited: Vec<&EventRow> = d
        .events
        .iter()
        .filter(|e| d.verdict.events.contains(&e.id) || Some(e.id) == d.deciding_event)
        .collect();
    let deciding_row = d.deciding_event.and_then(|id| d.events.iter().find(|e| e.id == id));
    let event_json = |e: &EventRow| {
        serde_json::json!({
            "id": e.id,
            "source": e.source,
            "external_id": e.external_id,
            "kind": e.kind,
            "course_id": e.course_id,
            "activity_id": e.activity_id,
            "grade": e.grade,
            "completed_at": e.completed_at,
            "received_at": e.received_at,
        })
    };
    let explanation = serde_json::json!({
        "rule": {
            "id": d.rule.id,
            "version": d.rule.version,
            "name": d.rule.name,
            "course_id": d.rule.course_id,
            "activity_id": d.rule.activity_id,
            "min_grade": d.rule.min_grade,
            "definition": d.definition.to_json(),
        },
        "event": deciding_row.map(event_json),
        "events": cited.iter().map(|e| event_json(e)).collect::<Vec<_>>(),
        "conditions_held": d.verdict.held,
        "conditions_held_reasons": d.verdict.held_reasons,
        "progress": {"met": d.verdict.met, "total": d.verdict.total},
        "requires_approval": d.definition.requires_approval,
    });
    let now = Utc::now();
    let request = IssueRequested {
        idempotency_key: key.clone(),
        issuer_id: d.rule.issuer_id,
        badge_class_id: d.rule.badge_class_id,
        recipient: d.recipient.clone(),
        origin: AwardOrigin {
            kind: "lms".into(),
            source: deciding_row.map(|e| e.source.clone()),
            event_id: d.deciding_event,
            rule_id: Some(d.rule.id),
            course_id: Some(deciding_row.map_or(d.rule.course_id.clone(), |e| e.course_id.clone())),
            supersedes: None,
        },
        completed_at: deciding_row.and_then(|e| e.completed_at),
        narrative: None,
        evidence: vec![],
        expires: d.definition.expires.as_ref().map(|e| e.for_award(now)),
    };
    // One learner holds a badge class once: a second rule that awards the
    // same class (another course, another LMS) does not award it again —
    // unless this rule is repeatable. Decided under the learner's lock.
    if !d.definition.repeatable && holds_through_another_rule(conn, d.rule, &d.recipient.email).await? {
        tracing::info!(rule_id = %d.rule.id, badge_class_id = %d.rule.badge_class_id, "the learner already holds this badge class through another rule");
        return Ok(false);
    }
    let pending = d.definition.requires_approval;
    let decision_id = Uuid::now_v7();
    let decided = diesel::insert_into(award_decisions::table)
        .values((
            award_decisions::id.eq(decision_id),
            award_decisions::idempotency_key.eq(&key),
            award_decisions::rule_id.eq(d.rule.id),
            award_decisions::event_id.eq(d.deciding_event),
            award_decisions::learner_email.eq(d.recipient.email.as_str()),
            award_decisions::badge_class_id.eq(d.rule.badge_class_id),
            award_decisions::explanation.eq(&explanation),
            award_decisions::decided_by.eq(d.decided_by),
            award_decisions::rule_version.eq(d.rule.version),
            award_decisions::status.eq(if pending { "pending" } else { "requested" }),
            award_decisions::pending_request.eq(pending.then(|| serde_json::to_value(&request).unwrap_or_default())),
        ))
        .on_conflict(award_decisions::idempotency_key)
        .do_nothing()
        .execute(conn)
        .await?;
    if decided == 0 {
        return Ok(false); // this learner already earned this rule's badge
    }
    if pending {
        // Whoever approves may be told (webhook subscribers of the issuer).
        let observed = EventObserved {
            event_type: "rule.decision.pending".into(),
            award_id: None,
            issuer_id: Some(d.rule.issuer_id),
            badge_class_id: Some(d.rule.badge_class_id),
            subject: Some(decision_id.to_string()),
            occurred_at: now,
            data: serde_json::json!({
                "decision_id": decision_id,
                "rule": {"id": d.rule.id, "name": d.rule.name},
                "badge_class": {"id": d.rule.badge_class_id},
                "course_id": d.rule.course_id,
                "learner": {"lms_user_id": d.recipient.lms_user_id},
                "decided_by": d.decided_by,
            }),
            recipient_email: Some(d.recipient.email.clone()),
        };
        outbox::enqueue(
            conn,
            &Envelope::new(crate::SERVICE, observed, Some(correlation.to_string())),
        )
        .await
        .map_err(ApiError::internal)?;
        tracing::info!(rule_id = %d.rule.id, "award decided; waiting for approval");
        return Ok(true);
    }
    outbox::enqueue(
        conn,
        &Envelope::new(crate::SERVICE, request, Some(correlation.to_string())),
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(true)
}

/// Whether another rule already awarded (or holds pending approval) this
/// rule's badge class to `email`.
pub async fn holds_through_another_rule(
    conn: &mut AsyncPgConnection,
    rule: &RuleRow,
    email: &EmailAddress,
) -> Result<bool, ApiError> {
    let found: i64 = award_decisions::table
        .filter(
            award_decisions::badge_class_id
                .eq(rule.badge_class_id)
                .and(award_decisions::learner_email.eq(email.as_str()))
                .and(award_decisions::rule_id.ne(rule.id))
                .and(award_decisions::status.eq_any(["requested", "pending"])),
        )
        .count()
        .get_result(conn)
        .await?;
    Ok(found > 0)
}

/// The e-mail (and name) the directory has for an LMS user.
pub async fn lookup(
    conn: &mut AsyncPgConnection,
    source: &str,
    lms_user_id: &str,
) -> Result<Option<(EmailAddress, Option<String>)>, ApiError> {
    let found: Option<(String, Option<String>)> = learner_identities::table
        .find((source, lms_user_id))
        .select((learner_identities::email, learner_identities::name))
        .first(conn)
        .await
        .optional()?;
    Ok(found.and_then(|(email, name)| EmailAddress::parse(&email).ok().map(|e| (e, name))))
}

/// Records that `lms_user_id` of `source` is `email`, and decides every
/// event of theirs that was held. Returns the awards those events requested.
pub async fn learn_identity(
    conn: &mut AsyncPgConnection,
    source: &str,
    lms_user_id: &str,
    email: &EmailAddress,
    name: Option<&str>,
    origin: &str,
    correlation: &str,
) -> Result<usize, ApiError> {
    diesel::insert_into(learner_identities::table)
        .values((
            learner_identities::source.eq(source),
            learner_identities::lms_user_id.eq(lms_user_id),
            learner_identities::email.eq(email.as_str()),
            learner_identities::name.eq(name),
            learner_identities::origin.eq(origin),
        ))
        .on_conflict((learner_identities::source, learner_identities::lms_user_id))
        .do_update()
        .set((
            learner_identities::email.eq(excluded(learner_identities::email)),
            learner_identities::name.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                    "COALESCE(excluded.name, learner_identities.name)",
                ),
            ),
            learner_identities::origin.eq(excluded(learner_identities::origin)),
            learner_identities::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    let held: Vec<EventRow> = lms_events::table
        .filter(
            lms_events::source
                .eq(source)
                .and(lms_events::lms_user_id.eq(lms_user_id))
                .and(lms_events::status.eq("held")),
        )
        .select(EventRow::as_select())
        .order(lms_events::received_at)
        .for_update()
        .load(conn)
        .await?;
    let mut awards = 0;
    for row in held {
        diesel::update(lms_events::table.find(row.id))
            .set((
                lms_events::status.eq("decided"),
                lms_events::learner_email.eq(email.as_str()),
            ))
            .execute(conn)
            .await?;
        let Some(event) = event_from_row(&row) else {
            continue;
        };
        let recipient = Recipient {
            email: email.clone(),
            name: row.learner_name.clone().or_else(|| name.map(str::to_owned)),
            lms_user_id: Some(lms_user_id.to_string()),
        };
        awards += decide(conn, row.id, &event, row.tenant_issuer_id, &recipient, correlation).await?;
    }
    if awards > 0 {
        tracing::info!(source, awards, "held events decided: the learner is now known");
    }
    Ok(awards)
}

/// Adds LTI roles (launch or roster) to the learner's attributes for rule
/// filters, by their short names (`…/membership#Learner` → `Learner`),
/// kept with any roles known before.
pub async fn add_roles(conn: &mut AsyncPgConnection, email: &EmailAddress, roles: &[String]) -> Result<(), ApiError> {
    let short: Vec<String> = roles
        .iter()
        .filter_map(|r| r.rsplit(['#', '/']).next())
        .filter(|r| !r.is_empty() && r.len() <= 200)
        .map(str::to_owned)
        .collect();
    if short.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO learner_attributes (email, roles) VALUES ($1, $2) \
         ON CONFLICT (email) DO UPDATE SET roles = \
         ARRAY(SELECT DISTINCT unnest(learner_attributes.roles || excluded.roles) ORDER BY 1), \
         updated_at = now()",
    )
    .bind::<diesel::sql_types::Text, _>(email.as_str())
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&short)
    .execute(conn)
    .await?;
    Ok(())
}

/// The event a stored row records (as parsed when it arrived).
pub fn event_from_row(row: &EventRow) -> Option<CompletionEvent> {
    Some(CompletionEvent {
        external_id: row.external_id.clone(),
        kind: EventKind::from_stored(&row.kind)?,
        learner: Learner {
            email: row.learner_email.as_deref().and_then(|e| EmailAddress::parse(e).ok()),
            name: row.learner_name.clone(),
            lms_user_id: row.lms_user_id.clone(),
        },
        course_id: CourseId::parse(&row.course_id).ok()?,
        activity_id: row.activity_id.clone(),
        completed_at: row.completed_at,
        grade: row.grade.and_then(|g| Grade::parse(g).ok()),
        progress: match (row.progress_done, row.progress_total) {
            (Some(done), Some(total)) => Some(Progress { done, total }),
            _ => None,
        },
    })
}
