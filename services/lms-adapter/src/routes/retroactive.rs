//! Retroactive awards and the decision log.
//!
//! A rule created (or found missing) after learners completed the course
//! would otherwise never award them: `dry-run` lists, from the events
//! already received, who would be awarded, who already was, and — for
//! everyone else — the condition that failed; `apply` awards exactly the
//! dry run's list, idempotently (applying twice awards nothing more). The
//! decision log answers "why was this awarded" for every award, and
//! `explain` answers "why not" for one learner.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use akashi_model::EmailAddress;
use akashi_model::messages::Recipient;
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::{EventRow, RuleRow};
use crate::db::schema::{award_decisions, lms_events, rules};
use crate::decisions::{self, Decision};
use crate::domain::rules::{explain, first_satisfying};
use crate::startup::AppState;

/// Most events one evaluation reads.
const MAX_EVENTS: i64 = 200_000;

/// A learner the rule would award, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WouldAward {
    pub learner: String,
    /// The earliest event that satisfies the rule.
    pub event_id: Uuid,
    pub conditions_held: Vec<String>,
}

/// A learner the rule would not award, and the condition that failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WouldNot {
    pub learner: String,
    pub reason: String,
}

/// What a rule would do (dry run) or did (apply) to the events received so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub rule_id: Uuid,
    pub would_award: Vec<WouldAward>,
    pub already_awarded: Vec<String>,
    pub would_not: Vec<WouldNot>,
    /// Events of the course waiting for their learner's e-mail (not counted above).
    pub held_events: i64,
    /// `apply` only: awards requested now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded: Option<usize>,
}

async fn rule_for(conn: &mut AsyncPgConnection, grant: &Grant, id: Uuid) -> Result<RuleRow, ApiError> {
    let rule: Option<RuleRow> = rules::table
        .find(id)
        .select(RuleRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let not_found = || ApiError::NotFound("no such rule".into());
    let rule = rule.ok_or_else(not_found)?;
    grant.require_issuer(rule.issuer_id).map_err(|_| not_found())?;
    Ok(rule)
}

struct Candidate {
    row: EventRow,
    held: Vec<String>,
}

/// Evaluates `rule` against every decided event of its course.
async fn evaluate(conn: &mut AsyncPgConnection, rule: &RuleRow) -> Result<(Evaluation, Vec<Candidate>), ApiError> {
    let events: Vec<EventRow> = lms_events::table
        .filter(
            lms_events::course_id
                .eq(&rule.course_id)
                .and(lms_events::status.eq("decided")),
        )
        .order((lms_events::received_at, lms_events::id))
        .limit(MAX_EVENTS)
        .select(EventRow::as_select())
        .load(conn)
        .await?;
    let held_events: i64 = lms_events::table
        .filter(
            lms_events::course_id
                .eq(&rule.course_id)
                .and(lms_events::status.eq("held")),
        )
        .count()
        .get_result(conn)
        .await?;
    let awarded: Vec<String> = award_decisions::table
        .filter(award_decisions::rule_id.eq(rule.id))
        .select(award_decisions::learner_email)
        .load(conn)
        .await?;
    // Per learner, in arrival order: the first event that satisfies wins;
    // otherwise the last event's failing condition is the reason.
    let mut by_learner: BTreeMap<String, Vec<EventRow>> = BTreeMap::new();
    for e in events {
        if let Some(email) = e.learner_email.clone() {
            by_learner.entry(email).or_default().push(e);
        }
    }
    let mut evaluation = Evaluation {
        rule_id: rule.id,
        would_award: vec![],
        already_awarded: vec![],
        would_not: vec![],
        held_events,
        awarded: None,
    };
    let mut candidates = Vec::new();
    for (learner, events) in by_learner {
        if awarded.contains(&learner) {
            evaluation.already_awarded.push(learner);
            continue;
        }
        let (rows, learner_events): (Vec<EventRow>, Vec<_>) = events
            .into_iter()
            .filter_map(|row| decisions::event_from_row(&row).map(|e| (row, e)))
            .unzip();
        // The same choice the property tests check against live decisions.
        let found = first_satisfying(rule, &learner_events).map(|(event, held)| {
            let at = learner_events
                .iter()
                .position(|e| std::ptr::eq(e, event))
                .unwrap_or_default();
            Candidate {
                row: rows[at].clone(),
                held,
            }
        });
        let last_reason = learner_events
            .last()
            .and_then(|e| explain(rule, e).err())
            .unwrap_or_else(|| String::from("no event"));
        match found {
            Some(c) => {
                evaluation.would_award.push(WouldAward {
                    learner,
                    event_id: c.row.id,
                    conditions_held: c.held.clone(),
                });
                candidates.push(c);
            }
            None => evaluation.would_not.push(WouldNot {
                learner,
                reason: last_reason,
            }),
        }
    }
    Ok((evaluation, candidates))
}

/// Lists who the rule would award from the events already received, who
/// already has the badge, and why everyone else would not. Changes nothing.
#[utoipa::path(responses((status = 200, body = Evaluation), (status = 404)), security(("bearer" = [])))]
#[post("/admin/rules/{id}/dry-run")]
pub async fn dry_run(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::RulesWrite)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let (evaluation, _) = evaluate(&mut conn, &rule).await?;
    Ok(HttpResponse::Ok().json(evaluation))
}

/// Awards exactly what the dry run lists, in one transaction. Applying
/// again awards nothing more.
#[utoipa::path(responses((status = 200, body = Evaluation), (status = 404)), security(("bearer" = [])))]
#[post("/admin/rules/{id}/apply")]
pub async fn apply(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::RulesWrite)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let correlation = request_id.0.clone();
    let evaluation = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Serialise applies of one rule: two at once would both read
            // "not yet awarded"; the decisions' unique key keeps them
            // harmless anyway, and the lock keeps the counts honest.
            diesel::sql_query("SELECT 1 FROM rules WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Uuid, _>(rule.id)
                .execute(conn)
                .await?;
            let (mut evaluation, candidates) = evaluate(conn, &rule).await?;
            let mut awarded = 0;
            for c in &candidates {
                let Some(event) = decisions::event_from_row(&c.row) else {
                    continue;
                };
                let Some(email) = c.row.learner_email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else {
                    continue;
                };
                let recipient = Recipient {
                    email,
                    name: c.row.learner_name.clone(),
                    lms_user_id: c.row.lms_user_id.clone(),
                };
                let decision = Decision {
                    rule: &rule,
                    event_id: c.row.id,
                    source: &c.row.source,
                    event: &event,
                    recipient: &recipient,
                    held: &c.held,
                    decided_by: "retroactive",
                };
                if decisions::award(conn, &decision, &correlation).await? {
                    awarded += 1;
                }
            }
            evaluation.awarded = Some(awarded);
            Ok(evaluation)
        })
        .await?;
    if evaluation.awarded.unwrap_or(0) > 0 {
        state.relay.wake();
    }
    tracing::info!(rule_id = %rule.id, awarded = ?evaluation.awarded, "rule applied retroactively");
    Ok(HttpResponse::Ok().json(evaluation))
}

/// Whose decision log to read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ExplainQuery {
    pub learner: String,
}

/// One learner against one rule: awarded (and why), or the condition that
/// failed for each of their events in the course.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    pub learner: String,
    pub awarded: bool,
    /// The recorded decision, when awarded.
    #[schema(value_type = Option<Object>)]
    pub decision: Option<serde_json::Value>,
    /// Each event of the learner in the course, with what held or failed.
    pub events: Vec<EventVerdict>,
}

/// One event's verdict under the rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventVerdict {
    pub event_id: Uuid,
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub satisfies: bool,
    pub because: Vec<String>,
}

/// Why a learner has, or has not, the rule's badge.
#[utoipa::path(params(ExplainQuery), responses((status = 200, body = Explanation), (status = 404)), security(("bearer" = [])))]
#[get("/admin/rules/{id}/explain")]
pub async fn explain_learner(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    query: web::Query<ExplainQuery>,
) -> Result<HttpResponse, ApiError> {
    grant
        .require(Scope::RulesRead)
        .or_else(|_| grant.require(Scope::RulesWrite))?;
    let email = EmailAddress::parse(&query.learner).map_err(|e| ApiError::invalid_field(format!("learner: {e}")))?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let decision: Option<Option<serde_json::Value>> = award_decisions::table
        .filter(
            award_decisions::rule_id
                .eq(rule.id)
                .and(award_decisions::learner_email.eq(email.as_str())),
        )
        .select(award_decisions::explanation)
        .first(&mut conn)
        .await
        .optional()?;
    let rows: Vec<EventRow> = lms_events::table
        .filter(
            lms_events::learner_email
                .eq(email.as_str())
                .and(lms_events::course_id.eq(&rule.course_id)),
        )
        .order(lms_events::received_at)
        .limit(500)
        .select(EventRow::as_select())
        .load(&mut conn)
        .await?;
    let events = rows
        .iter()
        .filter_map(|row| {
            let event = decisions::event_from_row(row)?;
            let (satisfies, because) = match explain(&rule, &event) {
                Ok(held) => (true, held),
                Err(reason) => (false, vec![reason]),
            };
            Some(EventVerdict {
                event_id: row.id,
                kind: row.kind.clone(),
                received_at: row.received_at,
                satisfies,
                because,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(Explanation {
        learner: email.to_string(),
        awarded: decision.is_some(),
        decision: decision.flatten(),
        events,
    }))
}

/// Filters for the decision log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DecisionFilter {
    pub learner: Option<String>,
    pub rule_id: Option<Uuid>,
    pub badge_class_id: Option<Uuid>,
    /// At most this many, newest first (default 100, at most 1,000).
    pub limit: Option<i64>,
}

/// An award decision with its explanation.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct DecisionView {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub event_id: Uuid,
    pub learner_email: String,
    pub badge_class_id: Uuid,
    pub decided_at: DateTime<Utc>,
    /// `event` or `retroactive`.
    pub decided_by: String,
    /// The rule as it stood, the deciding event and the conditions that held.
    #[schema(value_type = Option<Object>)]
    pub explanation: Option<serde_json::Value>,
}

/// The decision log: every award, with why (a tenant sees its own).
#[utoipa::path(params(DecisionFilter), responses((status = 200, body = [DecisionView])), security(("bearer" = [])))]
#[get("/admin/decisions")]
pub async fn list_decisions(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<DecisionFilter>,
) -> Result<HttpResponse, ApiError> {
    grant
        .require(Scope::RulesRead)
        .or_else(|_| grant.require(Scope::RulesWrite))?;
    let mut q = award_decisions::table
        .inner_join(rules::table)
        .order(award_decisions::decided_at.desc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .select((
            award_decisions::id,
            award_decisions::rule_id,
            award_decisions::event_id,
            award_decisions::learner_email,
            award_decisions::badge_class_id,
            award_decisions::decided_at,
            award_decisions::decided_by,
            award_decisions::explanation,
        ))
        .into_boxed();
    if let Some(own) = grant.issuer_id {
        q = q.filter(rules::issuer_id.eq(own));
    }
    if let Some(learner) = &filter.learner {
        let email = EmailAddress::parse(learner).map_err(|e| ApiError::invalid_field(format!("learner: {e}")))?;
        q = q.filter(award_decisions::learner_email.eq(email.to_string()));
    }
    if let Some(r) = filter.rule_id {
        q = q.filter(award_decisions::rule_id.eq(r));
    }
    if let Some(b) = filter.badge_class_id {
        q = q.filter(award_decisions::badge_class_id.eq(b));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<DecisionView> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows))
}
