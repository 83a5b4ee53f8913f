//! Retroactive awards and the decision log.
//!
//! A rule created (or found missing) after learners completed the course
//! would otherwise never award them: `dry-run` lists, from the events
//! already received, who would be awarded, who already was, and — for
//! everyone else — the condition that failed; `apply` awards exactly the
//! dry run's list, idempotently (applying twice awards nothing more). The
//! decision log answers "why was this awarded" for every award, and
//! `explain` answers "why not" for one learner.

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

use crate::db::models::RuleRow;
use crate::db::schema::{award_decisions, lms_events, rules};
use crate::decisions::{self, Decision, KnownLearner};
use crate::domain::criteria::{self, RuleDefinition, Verdict};
use crate::domain::reason::Reason;
use crate::startup::AppState;

/// A learner the rule would award, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WouldAward {
    pub learner: String,
    /// The latest event that met one of the rule's conditions (none when
    /// badges alone satisfy it).
    pub event_id: Option<Uuid>,
    pub conditions_held: Vec<String>,
    /// The same as codes with parameters (see docs/api.md).
    #[schema(value_type = Vec<Object>)]
    pub conditions_held_reasons: Vec<Reason>,
}

/// A learner the rule would not award, and the condition that failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WouldNot {
    pub learner: String,
    /// The first failed condition, in words.
    pub reason: String,
    /// The same as a code with parameters (absent when nothing was seen).
    #[schema(value_type = Option<Object>)]
    pub reason_code: Option<Reason>,
    /// Conditions met, of `total`.
    pub met: usize,
    pub total: usize,
}

/// What a rule would do (dry run) or did (apply) to the events received so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub rule_id: Uuid,
    pub rule_version: i32,
    pub would_award: Vec<WouldAward>,
    pub already_awarded: Vec<String>,
    pub would_not: Vec<WouldNot>,
    /// Events of the rule's courses waiting for their learner's e-mail (not counted above).
    pub held_events: i64,
    /// `apply` only: awards requested (or queued for approval) now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded: Option<usize>,
}

/// A rule the token may see (404 for another tenant's, as for none).
pub async fn rule_for(conn: &mut AsyncPgConnection, grant: &Grant, id: Uuid) -> Result<RuleRow, ApiError> {
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
    learner: KnownLearner,
    verdict: Verdict,
}

fn definition(rule: &RuleRow) -> Result<RuleDefinition, ApiError> {
    decisions::definition_of(rule)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the rule's definition does not parse")))
}

/// Evaluates `rule` for every learner with an event in its courses or one
/// of its prerequisite badges: the same evaluation live events get.
async fn evaluate(conn: &mut AsyncPgConnection, rule: &RuleRow) -> Result<(Evaluation, Vec<Candidate>), ApiError> {
    let def = definition(rule)?;
    let learners = decisions::load_facts(conn, &def, rule.issuer_id, None).await?;
    let held_events: i64 = lms_events::table
        .filter(
            lms_events::course_id
                .eq_any(def.course_ids())
                .and(lms_events::status.eq("held"))
                .and(decisions::visible_to(rule.issuer_id)),
        )
        .count()
        .get_result(conn)
        .await?;
    // Already awarded: by this rule, or (unless it is repeatable) the same
    // badge class by another rule — apply would not award them again.
    let mut awarded_q = award_decisions::table
        .filter(award_decisions::rule_id.eq(rule.id))
        .select(award_decisions::learner_email)
        .into_boxed();
    if !def.repeatable {
        awarded_q = awarded_q.or_filter(
            award_decisions::badge_class_id
                .eq(rule.badge_class_id)
                .and(award_decisions::status.eq_any(["requested", "pending"])),
        );
    }
    let awarded: Vec<String> = awarded_q.load(conn).await?;
    let mut evaluation = Evaluation {
        rule_id: rule.id,
        rule_version: rule.version,
        would_award: vec![],
        already_awarded: vec![],
        would_not: vec![],
        held_events,
        awarded: None,
    };
    let mut candidates = Vec::new();
    for (email, learner) in learners {
        if awarded.contains(&email) {
            evaluation.already_awarded.push(email);
            continue;
        }
        let verdict = criteria::evaluate(&def, &learner.facts);
        if verdict.satisfied {
            evaluation.would_award.push(WouldAward {
                learner: email,
                event_id: verdict.events.last().copied(),
                conditions_held: verdict.held.clone(),
                conditions_held_reasons: verdict.held_reasons.clone(),
            });
            candidates.push(Candidate { learner, verdict });
        } else {
            evaluation.would_not.push(WouldNot {
                learner: email,
                reason: <[String]>::first(&verdict.failed)
                    .cloned()
                    .unwrap_or_else(|| "no event".into()),
                reason_code: <[Reason]>::first(&verdict.failed_reasons).cloned(),
                met: verdict.met,
                total: verdict.total,
            });
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
            let def = definition(&rule)?;
            let mut awarded = 0;
            for c in &candidates {
                let latest = c.learner.rows.last();
                let recipient = Recipient {
                    email: c.learner.facts.email.clone(),
                    name: c.learner.rows.iter().rev().find_map(|r| r.learner_name.clone()),
                    lms_user_id: latest.and_then(|r| r.lms_user_id.clone()),
                };
                decisions::record_progress(conn, &rule, &recipient.email, &c.verdict).await?;
                let decision = Decision {
                    rule: &rule,
                    definition: &def,
                    verdict: &c.verdict,
                    deciding_event: c.verdict.events.last().copied(),
                    events: &c.learner.rows,
                    recipient: &recipient,
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

/// One learner against one rule: awarded (and why), or the conditions
/// that failed, with their progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    pub learner: String,
    pub awarded: bool,
    /// The recorded decision, when awarded.
    #[schema(value_type = Option<Object>)]
    pub decision: Option<serde_json::Value>,
    /// The rule evaluated now on everything known of the learner.
    #[schema(value_type = Object)]
    pub verdict: Verdict,
    /// Each event of the learner in the rule's courses.
    pub events: Vec<EventSeen>,
}

/// One event of the learner, and whether a condition cites it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventSeen {
    pub event_id: Uuid,
    pub kind: String,
    pub course_id: String,
    pub activity_id: Option<String>,
    pub grade: Option<f64>,
    pub received_at: DateTime<Utc>,
    /// A condition of the rule is met by this event.
    pub counts: bool,
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
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
    let email = EmailAddress::parse(&query.learner).map_err(|e| ApiError::invalid_field(format!("learner: {e}")))?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let def = definition(&rule)?;
    let decision: Option<Option<serde_json::Value>> = award_decisions::table
        .filter(
            award_decisions::rule_id
                .eq(rule.id)
                .and(award_decisions::learner_email.eq(email.as_str())),
        )
        .order(award_decisions::decided_at.desc())
        .select(award_decisions::explanation)
        .first(&mut conn)
        .await
        .optional()?;
    let mut known = decisions::load_facts(&mut conn, &def, rule.issuer_id, Some(&email)).await?;
    let learner = known
        .remove(email.as_str())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("load_facts answers the learner asked for")))?;
    let verdict = criteria::evaluate(&def, &learner.facts);
    let events = learner
        .rows
        .iter()
        .map(|row| EventSeen {
            event_id: row.id,
            kind: row.kind.clone(),
            course_id: row.course_id.clone(),
            activity_id: row.activity_id.clone(),
            grade: row.grade,
            received_at: row.received_at,
            counts: verdict.events.contains(&row.id),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Explanation {
        learner: email.to_string(),
        awarded: decision.is_some(),
        decision: decision.flatten(),
        verdict,
        events,
    }))
}

/// Filters for the decision log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DecisionFilter {
    pub learner: Option<String>,
    pub rule_id: Option<Uuid>,
    pub badge_class_id: Option<Uuid>,
    /// `requested`, `pending` or `rejected`.
    pub status: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000).
    pub limit: Option<i64>,
    /// Skip this many (paging; 0 to 1,000,000).
    pub offset: Option<i64>,
}

/// An award decision with its explanation.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct DecisionView {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub event_id: Option<Uuid>,
    pub learner_email: String,
    pub badge_class_id: Uuid,
    pub decided_at: DateTime<Utc>,
    /// `event`, `retroactive` (or `badge` — a pathway completed by a badge).
    pub decided_by: String,
    /// The rule version the decision used.
    pub rule_version: i32,
    /// `requested` (sent to the issuer), `pending` (awaiting approval) or `rejected`.
    pub status: String,
    pub review_note: Option<String>,
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
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
    let mut q = award_decisions::table
        .inner_join(rules::table)
        .order(award_decisions::decided_at.desc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .offset(filter.offset.unwrap_or(0).clamp(0, 1_000_000))
        .select((
            award_decisions::id,
            award_decisions::rule_id,
            award_decisions::event_id,
            award_decisions::learner_email,
            award_decisions::badge_class_id,
            award_decisions::decided_at,
            award_decisions::decided_by,
            award_decisions::rule_version,
            award_decisions::status,
            award_decisions::review_note,
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
    if let Some(status) = &filter.status {
        q = q.filter(award_decisions::status.eq(status.clone()));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<DecisionView> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows))
}
