//! Recording events and deciding awards, in the caller's transaction.
//!
//! An event whose learner has an e-mail (sent, or known to the learner
//! directory) is decided at once: every rule it satisfies gets an award
//! decision and an `issue.requested` in the outbox. An event naming only an
//! LMS user id is stored `held`; when the directory learns that user
//! ([`learn_identity`]), every held event of theirs is decided then.

use akashi_bus::{Envelope, outbox};
use akashi_model::EmailAddress;
use akashi_model::messages::{AwardOrigin, IssueRequested, Recipient};
use akashi_runtime::ApiError;
use chrono::Utc;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::{EventRow, RuleRow};
use crate::db::schema::{award_decisions, learner_identities, lms_events, rules};
use crate::domain::completion::{CompletionEvent, CourseId, EventKind, Grade, Learner, Progress};
use crate::domain::rules::{explain, idempotency_key};

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

/// Stores `event` (unless seen before) and decides it if its learner is known.
pub async fn record(
    conn: &mut AsyncPgConnection,
    source: &str,
    raw_body: &str,
    event: &CompletionEvent,
    delivery_key: Option<&str>,
    correlation: &str,
) -> Result<EventOutcome, ApiError> {
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
    let awards = decide(conn, row.id, source, event, &recipient, correlation).await?;
    Ok(EventOutcome {
        id: row.id,
        status: "accepted",
        awards_requested: awards,
    })
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

/// Decides the awards of a stored event whose learner is known.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    source: &str,
    event: &CompletionEvent,
    recipient: &Recipient,
    correlation: &str,
) -> Result<usize, ApiError> {
    let candidates: Vec<RuleRow> = rules::table
        .filter(rules::course_id.eq(event.course_id.as_str()))
        .select(RuleRow::as_select())
        .load(conn)
        .await?;
    let mut requested = 0;
    for rule in &candidates {
        let Ok(held) = explain(rule, event) else { continue };
        let decision = Decision {
            rule,
            event_id,
            source,
            event,
            recipient,
            held: &held,
            decided_by: "event",
        };
        if award(conn, &decision, correlation).await? {
            requested += 1;
        }
    }
    Ok(requested)
}

/// One award decision: a rule held for a learner because of an event.
pub struct Decision<'a> {
    pub rule: &'a RuleRow,
    pub event_id: Uuid,
    pub source: &'a str,
    pub event: &'a CompletionEvent,
    pub recipient: &'a Recipient,
    /// The conditions that held, in words.
    pub held: &'a [String],
    /// `event` or `retroactive`.
    pub decided_by: &'a str,
}

/// Records the decision (once per rule, learner and course) with its
/// explanation, and its `issue.requested`. `false`: decided before.
pub async fn award(conn: &mut AsyncPgConnection, d: &Decision<'_>, correlation: &str) -> Result<bool, ApiError> {
    let key = idempotency_key(d.rule.id, &d.recipient.email, d.event.course_id.as_str());
    let explanation = serde_json::json!({
        "rule": {
            "id": d.rule.id,
            "course_id": d.rule.course_id,
            "activity_id": d.rule.activity_id,
            "min_grade": d.rule.min_grade,
        },
        "event": {
            "id": d.event_id,
            "source": d.source,
            "external_id": d.event.external_id,
            "kind": d.event.kind.as_str(),
            "grade": d.event.grade.map(|g| g.value()),
            "completed_at": d.event.completed_at,
        },
        "conditions_held": d.held,
    });
    let decided = diesel::insert_into(award_decisions::table)
        .values((
            award_decisions::id.eq(Uuid::now_v7()),
            award_decisions::idempotency_key.eq(&key),
            award_decisions::rule_id.eq(d.rule.id),
            award_decisions::event_id.eq(d.event_id),
            award_decisions::learner_email.eq(d.recipient.email.as_str()),
            award_decisions::badge_class_id.eq(d.rule.badge_class_id),
            award_decisions::explanation.eq(&explanation),
            award_decisions::decided_by.eq(d.decided_by),
        ))
        .on_conflict(award_decisions::idempotency_key)
        .do_nothing()
        .execute(conn)
        .await?;
    if decided == 0 {
        return Ok(false); // this learner already earned this rule's badge
    }
    let request = IssueRequested {
        idempotency_key: key,
        issuer_id: d.rule.issuer_id,
        badge_class_id: d.rule.badge_class_id,
        recipient: d.recipient.clone(),
        origin: AwardOrigin {
            kind: "lms".into(),
            source: Some(d.source.to_string()),
            event_id: Some(d.event_id),
            rule_id: Some(d.rule.id),
            course_id: Some(d.event.course_id.as_str().to_string()),
            supersedes: None,
        },
        completed_at: d.event.completed_at,
        narrative: None,
        evidence: vec![],
    };
    outbox::enqueue(
        conn,
        &Envelope::new(crate::SERVICE, request, Some(correlation.to_string())),
    )
    .await
    .map_err(ApiError::internal)?;
    Ok(true)
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
        awards += decide(conn, row.id, source, &event, &recipient, correlation).await?;
    }
    if awards > 0 {
        tracing::info!(source, awards, "held events decided: the learner is now known");
    }
    Ok(awards)
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
