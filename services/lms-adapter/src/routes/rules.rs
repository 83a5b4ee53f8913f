//! Completion rules: "course C completed → badge B".

use actix_web::{HttpResponse, get, post, web};
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::RuleRow;
use crate::db::schema::{known_badge_classes, rules};
use crate::domain::completion::{CourseId, Grade, bounded_id};
use crate::startup::AppState;

/// A new rule.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRule {
    /// The course whose completion earns the badge, as the LMS names it.
    #[schema(example = "DEMO-101")]
    pub course_id: String,
    /// A badge class the issuer has published.
    pub badge_class_id: Uuid,
    /// One activity of the course (quiz, assignment, module) instead of the
    /// course itself, named as the source names it (docs/integrations.md).
    pub activity_id: Option<String>,
    /// A minimum grade from 0 to 1: a score at or above it earns the badge
    /// (AGS, xAPI, Caliper and Canvas grades), and a completion earns it
    /// only with such a grade.
    pub min_grade: Option<f64>,
}

/// A rule as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub badge_class_name: String,
    pub course_id: String,
    pub activity_id: Option<String>,
    pub min_grade: Option<f64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

fn view(row: RuleRow, badge_class_name: String) -> RuleView {
    RuleView {
        id: row.id,
        issuer_id: row.issuer_id,
        badge_class_id: row.badge_class_id,
        badge_class_name,
        course_id: row.course_id,
        activity_id: row.activity_id,
        min_grade: row.min_grade,
        active: row.active,
        created_at: row.created_at,
    }
}

/// Creates a rule. The badge class must be one the issuer has published
/// (and, for a tenant-bound token, one of its own tenant).
#[utoipa::path(
    request_body = NewRule,
    responses(
        (status = 201, body = RuleView),
        (status = 404, description = "no such badge class (yet, or another tenant's)"),
        (status = 409, description = "this course already earns this badge"),
        (status = 422),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/rules")]
pub async fn create_rule(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<NewRule>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::RulesWrite)?;
    let course = CourseId::parse(&body.course_id).map_err(|e| ApiError::invalid_field(e.to_string()))?;
    let activity_id = body
        .activity_id
        .as_deref()
        .map(|a| bounded_id("activity_id", a))
        .transpose()
        .map_err(|e| ApiError::invalid_field(e.to_string()))?;
    let min_grade = body
        .min_grade
        .map(Grade::parse)
        .transpose()
        .map_err(|_| ApiError::invalid_field("min_grade: must be a number from 0 to 1"))?
        .map(Grade::value);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let badge: Option<(Uuid, String)> = known_badge_classes::table
        .find(body.badge_class_id)
        .select((known_badge_classes::issuer_id, known_badge_classes::name))
        .first(&mut conn)
        .await
        .optional()?;
    let not_found = || {
        ApiError::NotFound("no such badge class: create it on the issuer first (it may take a moment to arrive)".into())
    };
    let (issuer_id, badge_name) = badge.ok_or_else(not_found)?;
    grant.require_issuer(issuer_id).map_err(|_| not_found())?;
    let row = RuleRow {
        id: Uuid::now_v7(),
        issuer_id,
        badge_class_id: body.badge_class_id,
        course_id: course.as_str().to_string(),
        active: true,
        created_at: Utc::now(),
        activity_id,
        min_grade,
    };
    match diesel::insert_into(rules::table).values(&row).execute(&mut conn).await {
        Err(e) if akashi_db::is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "course {:?}{} already earns this badge",
                row.course_id,
                row.activity_id
                    .as_deref()
                    .map(|a| format!(" activity {a:?}"))
                    .unwrap_or_default()
            )));
        }
        other => other?,
    };
    tracing::info!(rule_id = %row.id, course_id = %row.course_id, "rule created");
    Ok(HttpResponse::Created().json(view(row, badge_name)))
}

/// Filters for listing rules.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RuleFilter {
    pub course_id: Option<String>,
    pub badge_class_id: Option<Uuid>,
}

/// Lists the rules the token may see.
#[utoipa::path(params(RuleFilter), responses((status = 200, body = [RuleView])), security(("bearer" = [])))]
#[get("/admin/rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<RuleFilter>,
) -> Result<HttpResponse, ApiError> {
    grant
        .require(Scope::RulesRead)
        .or_else(|_| grant.require(Scope::RulesWrite))?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut q = rules::table
        .inner_join(known_badge_classes::table)
        .select((RuleRow::as_select(), known_badge_classes::name))
        .order(rules::created_at)
        .into_boxed();
    if let Some(own) = grant.issuer_id {
        q = q.filter(rules::issuer_id.eq(own));
    }
    if let Some(course) = &filter.course_id {
        q = q.filter(rules::course_id.eq(course.trim().to_string()));
    }
    if let Some(badge) = filter.badge_class_id {
        q = q.filter(rules::badge_class_id.eq(badge));
    }
    let rows: Vec<(RuleRow, String)> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(|(r, n)| view(r, n)).collect::<Vec<_>>()))
}
