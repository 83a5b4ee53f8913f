//! `POST /webhooks/{source}`: signed completion events from an LMS.
//!
//! Order matters: the signature is checked before anything is parsed or
//! stored; the event, the award decisions and the `issue.requested` messages
//! commit in one transaction; only then is 202 answered, so an answered
//! event is durable.

use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_bus::{Envelope, outbox};
use akashi_crypto::webhook::{self, SignatureError};
use akashi_model::messages::{AwardOrigin, IssueRequested};
use akashi_runtime::ApiError;
use akashi_runtime::http::{RequestId, read_body_limited};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::{EventRow, RuleRow};
use crate::db::schema::{award_decisions, lms_events, rules, webhook_sources};
use crate::domain::completion::{self, CompletionError, CompletionEvent};
use crate::domain::rules::{idempotency_key, matching};
use crate::startup::AppState;

/// Sources the contract names. Only `generic` is implemented so far; the
/// others answer 404 `source_not_supported` until their parsers exist.
pub const KNOWN_SOURCES: [&str; 6] = ["generic", "moodle", "canvas", "xapi", "caliper", "openedx"];
/// Largest webhook body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// The signature header of the generic webhook.
pub const SIGNATURE_HEADER: &str = "X-Akashi-Signature";

/// The answer to an accepted (or recognised duplicate) event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The stored event's id.
    pub id: Uuid,
    /// `accepted`, or `duplicate` for an event received before (nothing new was done).
    pub status: &'static str,
    /// How many awards this event caused to be requested.
    pub awards_requested: usize,
}

fn signature_error(e: SignatureError) -> ApiError {
    let code = match e {
        SignatureError::Missing => "signature_missing",
        SignatureError::Malformed(_) => "signature_malformed",
        SignatureError::Stale(_) => "signature_stale",
        SignatureError::Mismatch => "signature_mismatch",
    };
    tracing::warn!(code, "webhook refused: {e}");
    ApiError::Unauthorized(format!("{code}: {e}"))
}

fn completion_error(e: CompletionError) -> ApiError {
    match e {
        CompletionError::Json(m) => ApiError::unprocessable("invalid_payload", m),
        CompletionError::Field(m) => ApiError::invalid_field(m),
    }
}

/// Receives one LMS event. 202 once it is stored (with the award requests it
/// caused); 200 `duplicate` for one seen before; 401 for a missing, wrong or
/// stale signature (nothing stored).
#[utoipa::path(
    params(("source" = String, Path, description = "generic, moodle, canvas, xapi, caliper or openedx")),
    request_body(content = String, description = "the source's own format; for `generic` see docs/api.md", content_type = "application/json"),
    responses(
        (status = 202, body = Accepted, description = "stored; awards requested"),
        (status = 200, body = Accepted, description = "seen before; ignored"),
        (status = 401, description = "signature missing, malformed, stale (> 300 s) or wrong"),
        (status = 404, description = "unknown or unconfigured source"),
        (status = 413, description = "body over 64 KiB"),
        (status = 422, description = "not a valid completion"),
    ),
)]
#[post("/webhooks/{source}")]
pub async fn receive(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let source = path.into_inner();
    if !KNOWN_SOURCES.contains(&source.as_str()) {
        return Err(ApiError::NotFound(format!("unknown webhook source {source:?}")));
    }
    if source != "generic" {
        return Err(ApiError::NotFound(format!(
            "source_not_supported: the {source} webhook is not available in this version; use /webhooks/generic"
        )));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let secrets: Vec<String> = webhook_sources::table
        .find(&source)
        .select(webhook_sources::secrets)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound(format!("webhook source {source:?} is not configured")))?;
    let body = read_body_limited(payload, MAX_BODY).await?;
    let signature = req.headers().get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    webhook::verify(
        signature,
        &body,
        &secrets,
        Utc::now().timestamp(),
        state.signature_tolerance_secs,
    )
    .map_err(signature_error)?;
    let idempotency_header = req.headers().get("Idempotency-Key").and_then(|v| v.to_str().ok());
    let event = completion::parse_generic(&body, idempotency_header).map_err(completion_error)?;
    let raw_body =
        String::from_utf8(body).map_err(|_| ApiError::unprocessable("invalid_payload", "body is not UTF-8"))?;
    let accepted = store_and_decide(&mut conn, &source, raw_body, &event, &request_id.0).await?;
    if accepted.awards_requested > 0 {
        state.relay.wake();
    }
    tracing::info!(event_id = %accepted.id, status = accepted.status, awards = accepted.awards_requested, source, "webhook event");
    Ok(if accepted.status == "duplicate" {
        HttpResponse::Ok().json(accepted)
    } else {
        HttpResponse::Accepted().json(accepted)
    })
}

/// Stores the event and, in the same transaction, the award decisions of
/// every rule it satisfies and their `issue.requested` messages.
pub async fn store_and_decide(
    conn: &mut diesel_async::AsyncPgConnection,
    source: &str,
    raw_body: String,
    event: &CompletionEvent,
    correlation: &str,
) -> Result<Accepted, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let row = EventRow {
            id: Uuid::now_v7(),
            source: source.to_string(),
            external_id: event.external_id.clone(),
            raw_body,
            learner_email: event.learner.email.to_string(),
            learner_name: event.learner.name.clone(),
            lms_user_id: event.learner.lms_user_id.clone(),
            course_id: event.course_id.as_str().to_string(),
            completed_at: event.completed_at,
            grade: event.grade.map(|g| g.value()),
            received_at: Utc::now(),
        };
        let inserted = diesel::insert_into(lms_events::table)
            .values(&row)
            .on_conflict((lms_events::source, lms_events::external_id))
            .do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            let id: Uuid = lms_events::table
                .filter(
                    lms_events::source
                        .eq(source)
                        .and(lms_events::external_id.eq(&event.external_id)),
                )
                .select(lms_events::id)
                .first(conn)
                .await?;
            return Ok(Accepted {
                id,
                status: "duplicate",
                awards_requested: 0,
            });
        }
        let candidates: Vec<RuleRow> = rules::table
            .filter(rules::course_id.eq(event.course_id.as_str()))
            .select(RuleRow::as_select())
            .load(conn)
            .await?;
        let mut requested = 0;
        for rule in matching(&candidates, event) {
            let key = idempotency_key(rule.id, event);
            let decided = diesel::insert_into(award_decisions::table)
                .values((
                    award_decisions::id.eq(Uuid::now_v7()),
                    award_decisions::idempotency_key.eq(&key),
                    award_decisions::rule_id.eq(rule.id),
                    award_decisions::event_id.eq(row.id),
                    award_decisions::learner_email.eq(event.learner.email.as_str()),
                    award_decisions::badge_class_id.eq(rule.badge_class_id),
                ))
                .on_conflict(award_decisions::idempotency_key)
                .do_nothing()
                .execute(conn)
                .await?;
            if decided == 0 {
                continue; // this learner already earned this rule's badge
            }
            let request = IssueRequested {
                idempotency_key: key,
                issuer_id: rule.issuer_id,
                badge_class_id: rule.badge_class_id,
                recipient: event.learner.clone(),
                origin: AwardOrigin {
                    kind: "lms".into(),
                    source: Some(source.to_string()),
                    event_id: Some(row.id),
                    rule_id: Some(rule.id),
                    course_id: Some(event.course_id.as_str().to_string()),
                    supersedes: None,
                },
                completed_at: event.completed_at,
                narrative: None,
                evidence: vec![],
            };
            outbox::enqueue(
                conn,
                &Envelope::new(crate::SERVICE, request, Some(correlation.to_string())),
            )
            .await
            .map_err(ApiError::internal)?;
            requested += 1;
        }
        Ok(Accepted {
            id: row.id,
            status: "accepted",
            awards_requested: requested,
        })
    })
    .await
}
