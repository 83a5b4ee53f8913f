//! Received LMS events, for operators and audit.

use actix_web::{HttpResponse, get, web};
use akashi_model::EmailAddress;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::EventRow;
use crate::db::schema::{award_decisions, lms_events};
use crate::startup::AppState;

/// A received event with the awards it decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub source: String,
    pub external_id: String,
    /// `completed`, `passed`, `graded`, `progress` or `failed`.
    pub kind: String,
    /// `decided`, or `held` until the learner directory knows the learner.
    pub status: String,
    pub learner_email: Option<String>,
    pub lms_user_id: Option<String>,
    pub course_id: String,
    pub activity_id: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub grade: Option<f64>,
    pub received_at: DateTime<Utc>,
    /// The badge classes this event caused to be awarded.
    pub awarded_badge_classes: Vec<Uuid>,
    /// The body exactly as the LMS sent it.
    pub raw_body: String,
}

/// Filters for listing events.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventFilter {
    pub learner: Option<String>,
    pub source: Option<String>,
    /// `held` lists events waiting for their learner's e-mail.
    pub status: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<i64>,
}

/// Lists received events, newest first (platform tokens only: events are not yet tied to a tenant).
#[utoipa::path(params(EventFilter), responses((status = 200, body = [EventView])), security(("bearer" = [])))]
#[get("/admin/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<EventFilter>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::EventsRead)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "listing raw LMS events needs a platform token".into(),
        ));
    }
    let limit = filter.limit.unwrap_or(50).clamp(1, 500);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut q = lms_events::table
        .select(EventRow::as_select())
        .order(lms_events::received_at.desc())
        .limit(limit)
        .into_boxed();
    if let Some(learner) = &filter.learner {
        let email = EmailAddress::parse(learner).map_err(|e| ApiError::invalid_field(format!("learner: {e}")))?;
        q = q.filter(lms_events::learner_email.eq(email.to_string()));
    }
    if let Some(source) = &filter.source {
        q = q.filter(lms_events::source.eq(source.clone()));
    }
    if let Some(status) = &filter.status {
        q = q.filter(lms_events::status.eq(status.clone()));
    }
    let rows: Vec<EventRow> = q.load(&mut conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let decisions: Vec<(Option<Uuid>, Uuid)> = award_decisions::table
        .filter(award_decisions::event_id.eq_any(&ids))
        .select((award_decisions::event_id, award_decisions::badge_class_id))
        .load(&mut conn)
        .await?;
    let views: Vec<EventView> = rows
        .into_iter()
        .map(|r| EventView {
            awarded_badge_classes: decisions
                .iter()
                .filter(|(e, _)| *e == Some(r.id))
                .map(|(_, b)| *b)
                .collect(),
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            kind: r.kind,
            status: r.status,
            learner_email: r.learner_email,
            lms_user_id: r.lms_user_id,
            course_id: r.course_id,
            activity_id: r.activity_id,
            completed_at: r.completed_at,
            grade: r.grade,
            received_at: r.received_at,
            raw_body: r.raw_body,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
