//! Completion rules: versioned definitions (a tree of conditions, learner
//! filters, once or repeatable, expiry, approval) → one badge.

use actix_web::{HttpResponse, get, post, put, web};
use akashi_bus::{Envelope, outbox};
use akashi_model::EmailAddress;
use akashi_model::messages::IssueRequested;
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::RuleRow;
use crate::db::schema::{
    award_decisions, known_badge_classes, learner_attributes, rule_progress, rule_versions, rules,
};
use crate::decisions;
use crate::domain::completion::{CourseId, Grade, bounded_id};
use crate::domain::criteria::{Expiry, RuleDefinition};
use crate::routes::retroactive::rule_for;
use crate::startup::AppState;

/// A new rule: either the simple form (`course_id`, optional `activity_id`
/// and `min_grade`) or a full `definition` (docs/rules.md).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// The course whose completion earns the badge, as the LMS names it.
    #[schema(example = "DEMO-101")]
    pub course_id: Option<String>,
    /// A badge class the issuer has published.
    pub badge_class_id: Uuid,
    /// One activity of the course (quiz, assignment, module) instead of the
    /// course itself, named as the source names it (docs/integrations.md).
    pub activity_id: Option<String>,
    /// A minimum grade from 0 to 1: a score at or above it earns the badge
    /// (AGS, xAPI, Caliper and Canvas grades), and a completion earns it
    /// only with such a grade.
    pub min_grade: Option<f64>,
    /// Where the course lives, when course ids repeat across LMSs: a
    /// webhook source (`moodle`, `canvas`, …) or `lti:<platform id>`.
    /// Absent: the course id from any source.
    pub source: Option<String>,
    /// The full definition: `criteria` (all / any / at_least trees of
    /// completed, passed, grade and badge conditions, with windows),
    /// `filters`, `repeatable`, `expires`, `requires_approval`.
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
    /// A name for people (the console shows it).
    pub name: Option<String>,
}

/// A change to a rule: a new definition (a new version) and/or on/off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChange {
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
    pub active: Option<bool>,
    pub name: Option<String>,
}

/// A rule as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub badge_class_name: String,
    pub name: Option<String>,
    /// The first course the rule names (for simple rules, its course).
    pub course_id: String,
    pub course_ids: Vec<String>,
    pub activity_id: Option<String>,
    pub min_grade: Option<f64>,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub version: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(row: RuleRow, badge_class_name: String) -> RuleView {
    RuleView {
        id: row.id,
        issuer_id: row.issuer_id,
        badge_class_id: row.badge_class_id,
        badge_class_name,
        name: row.name,
        course_id: row.course_id,
        course_ids: row.course_ids,
        activity_id: row.activity_id,
        min_grade: row.min_grade,
        definition: row.definition,
        version: row.version,
        active: row.active,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn rule_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|n| bounded_id("name", n))
        .transpose()
        .map_err(|e| ApiError::invalid_field(e.to_string()))
}

/// Parses a definition and checks that every prerequisite badge is one of
/// the tenant's own and not the rule's own badge.
async fn checked_definition(
    conn: &mut AsyncPgConnection,
    raw: &serde_json::Value,
    issuer_id: Uuid,
    badge_class_id: Uuid,
) -> Result<RuleDefinition, ApiError> {
    let def = RuleDefinition::parse(raw).map_err(|e| ApiError::unprocessable("invalid_definition", e.to_string()))?;
    let wanted = def.prerequisite_badges();
    if wanted.contains(&badge_class_id) {
        return Err(ApiError::unprocessable(
            "invalid_definition",
            "criteria: a rule cannot ask for the badge it awards",
        ));
    }
    let known: Vec<Uuid> = known_badge_classes::table
        .filter(
            known_badge_classes::id
                .eq_any(&wanted)
                .and(known_badge_classes::issuer_id.eq(issuer_id)),
        )
        .select(known_badge_classes::id)
        .load(conn)
        .await?;
    if let Some(missing) = wanted.iter().find(|b| !known.contains(b)) {
        return Err(ApiError::unprocessable(
            "invalid_definition",
            format!("criteria: no badge class {missing} of this issuer"),
        ));
    }
    Ok(def)
}

/// Refuses course ids that another tenant's rule already names.
///
/// Events of a tenant's own webhook source or LTI platform are seen by that
/// tenant's rules only; a shared source's events are seen by every tenant.
/// On a shared source a course id is the first naming tenant's: without
/// this, another tenant's editor could write a rule on it and read (dry
/// run, explain) or award that tenant's learners. The answer names no
/// other tenant.
async fn check_courses_unclaimed(
    conn: &mut AsyncPgConnection,
    issuer_id: Uuid,
    course_ids: &[String],
) -> Result<(), ApiError> {
    let claimed: Vec<Vec<String>> = rules::table
        .filter(
            rules::course_ids
                .overlaps_with(course_ids)
                .and(rules::issuer_id.ne(issuer_id)),
        )
        .select(rules::course_ids)
        .load(conn)
        .await?;
    match course_ids
        .iter()
        .find(|c| claimed.iter().any(|taken| taken.contains(c)))
    {
        Some(course) => Err(ApiError::Conflict(format!(
            "course_claimed: the course {course:?} belongs to another tenant; bind your LMS's webhook source or LTI platform to your tenant and use its course ids"
        ))),
        None => Ok(()),
    }
}

/// Creates a rule. The badge class must be one the issuer has published
/// (and, for a tenant-bound token, one of its own tenant).
#[utoipa::path(
    request_body = NewRule,
    responses(
        (status = 201, body = RuleView),
        (status = 404, description = "no such badge class (yet, or another tenant's)"),
        (status = 409, description = "this course already earns this badge, or (`course_claimed`) another tenant's rule names the course"),
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
    let name = rule_name(body.name.as_deref())?;
    let simple = body.definition.is_none();
    let (course, activity_id, min_grade) = if simple {
        let course = body
            .course_id
            .as_deref()
            .ok_or_else(|| ApiError::invalid_field("course_id: required unless a definition is given"))?;
        let course = CourseId::parse(course).map_err(|e| ApiError::invalid_field(e.to_string()))?;
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
        (Some(course), activity_id, min_grade)
    } else if body.course_id.is_some()
        || body.activity_id.is_some()
        || body.min_grade.is_some()
        || body.source.is_some()
    {
        return Err(ApiError::invalid_field(
            "give either course_id (with activity_id, min_grade) or a definition, not both",
        ));
    } else {
        (None, None, None)
    };
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
    let def = match (&body.definition, &course) {
        (Some(raw), _) => checked_definition(&mut conn, raw, issuer_id, body.badge_class_id).await?,
        (None, Some(course)) => {
            let simple = RuleDefinition::simple_from(
                course.as_str(),
                activity_id.as_deref(),
                min_grade,
                body.source.as_deref(),
            );
            // Parsed back, so the simple form is checked exactly as a definition is.
            RuleDefinition::parse(&simple.to_json())
                .map_err(|e| ApiError::unprocessable("invalid_definition", e.to_string()))?
        }
        (None, None) => unreachable!("a simple rule has a course"),
    };
    let course_ids = def.course_ids();
    check_courses_unclaimed(&mut conn, issuer_id, &course_ids).await?;
    let now = Utc::now();
    let row = RuleRow {
        id: Uuid::now_v7(),
        issuer_id,
        badge_class_id: body.badge_class_id,
        course_id: <[String]>::first(&course_ids).cloned().unwrap_or_default(),
        active: true,
        created_at: now,
        activity_id,
        min_grade,
        definition: def.to_json(),
        version: 1,
        simple,
        course_ids,
        prerequisite_badges: def.prerequisite_badges(),
        name,
        updated_at: now,
    };
    let inserted = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::insert_into(rules::table).values(&row).execute(conn).await?;
            save_version(conn, &row).await
        })
        .await;
    match inserted {
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
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
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

async fn save_version(conn: &mut AsyncPgConnection, row: &RuleRow) -> QueryResult<()> {
    diesel::insert_into(rule_versions::table)
        .values((
            rule_versions::rule_id.eq(row.id),
            rule_versions::version.eq(row.version),
            rule_versions::definition.eq(&row.definition),
            rule_versions::active.eq(row.active),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One rule.
#[utoipa::path(responses((status = 200, body = RuleView), (status = 404)), security(("bearer" = [])))]
#[get("/admin/rules/{id}")]
pub async fn get_rule(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let name = badge_name(&mut conn, rule.badge_class_id).await?;
    Ok(HttpResponse::Ok().json(view(rule, name)))
}

async fn badge_name(conn: &mut AsyncPgConnection, id: Uuid) -> Result<String, ApiError> {
    Ok(known_badge_classes::table
        .find(id)
        .select(known_badge_classes::name)
        .first(conn)
        .await?)
}

/// Changes a rule: a new definition makes a new version (decisions name
/// the version they used; earlier versions stay readable), `active` turns
/// it on or off. Awards already made stay; use dry run and apply to award
/// learners the new version now admits.
#[utoipa::path(
    request_body = RuleChange,
    responses((status = 200, body = RuleView), (status = 404), (status = 422)),
    security(("bearer" = [])),
)]
#[put("/admin/rules/{id}")]
pub async fn update_rule(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<RuleChange>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::RulesWrite)?;
    let name = rule_name(body.name.as_deref())?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let id = *path;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            diesel::sql_query("SELECT 1 FROM rules WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .execute(conn)
                .await?;
            let mut rule = rule_for(conn, &grant, id).await?;
            if let Some(raw) = &body.definition {
                let def = checked_definition(conn, raw, rule.issuer_id, rule.badge_class_id).await?;
                rule.definition = def.to_json();
                rule.course_ids = def.course_ids();
                check_courses_unclaimed(conn, rule.issuer_id, &rule.course_ids).await?;
                rule.prerequisite_badges = def.prerequisite_badges();
                rule.course_id = <[String]>::first(&rule.course_ids).cloned().unwrap_or_default();
                // A tree is no longer the simple form, whatever it says.
                rule.simple = false;
                rule.activity_id = None;
                rule.min_grade = None;
            }
            if let Some(active) = body.active {
                rule.active = active;
            }
            if name.is_some() {
                rule.name = name.clone();
            }
            rule.version += 1;
            rule.updated_at = Utc::now();
            diesel::update(rules::table.find(rule.id))
                .set((
                    rules::definition.eq(&rule.definition),
                    rules::course_ids.eq(&rule.course_ids),
                    rules::prerequisite_badges.eq(&rule.prerequisite_badges),
                    rules::course_id.eq(&rule.course_id),
                    rules::simple.eq(rule.simple),
                    rules::activity_id.eq(&rule.activity_id),
                    rules::min_grade.eq(rule.min_grade),
                    rules::active.eq(rule.active),
                    rules::name.eq(&rule.name),
                    rules::version.eq(rule.version),
                    rules::updated_at.eq(rule.updated_at),
                ))
                .execute(conn)
                .await?;
            save_version(conn, &rule).await?;
            Ok(rule)
        })
        .await?;
    tracing::info!(rule_id = %row.id, version = row.version, "rule changed");
    let name = badge_name(&mut conn, row.badge_class_id).await?;
    Ok(HttpResponse::Ok().json(view(row, name)))
}

/// One version of a rule.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct RuleVersionView {
    pub version: i32,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Every version of a rule, newest first.
#[utoipa::path(responses((status = 200, body = [RuleVersionView]), (status = 404)), security(("bearer" = [])))]
#[get("/admin/rules/{id}/versions")]
pub async fn list_versions(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let rows: Vec<RuleVersionView> = rule_versions::table
        .filter(rule_versions::rule_id.eq(rule.id))
        .order(rule_versions::version.desc())
        .select((
            rule_versions::version,
            rule_versions::definition,
            rule_versions::active,
            rule_versions::created_at,
        ))
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One learner's progress toward a rule.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ProgressView {
    pub learner_email: String,
    pub met: i32,
    pub total: i32,
    pub satisfied: bool,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Filters for progress.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProgressFilter {
    pub learner: Option<String>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<i64>,
}

/// Every learner's progress toward a rule (conditions met of total), kept
/// current on every event.
#[utoipa::path(params(ProgressFilter), responses((status = 200, body = [ProgressView]), (status = 404)), security(("bearer" = [])))]
#[get("/admin/rules/{id}/progress")]
pub async fn list_progress(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    filter: web::Query<ProgressFilter>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::RulesRead, Scope::RulesWrite])?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rule = rule_for(&mut conn, &grant, *path).await?;
    let mut q = rule_progress::table
        .filter(rule_progress::rule_id.eq(rule.id))
        .order(rule_progress::updated_at.desc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .select((
            rule_progress::learner_email,
            rule_progress::met,
            rule_progress::total,
            rule_progress::satisfied,
            rule_progress::detail,
            rule_progress::updated_at,
        ))
        .into_boxed();
    if let Some(l) = &filter.learner {
        let email = EmailAddress::parse(l).map_err(|e| ApiError::invalid_field(format!("learner: {e}")))?;
        q = q.filter(rule_progress::learner_email.eq(email.to_string()));
    }
    let rows: Vec<ProgressView> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// An admin's answer to a pending award.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `true` issues the badge; `false` rejects it (never awarded again by this rule).
    pub approve: bool,
    /// Why (kept in the decision log).
    pub note: Option<String>,
}

/// Approves or rejects a decision waiting in the approval queue
/// (`GET /admin/decisions?status=pending`).
#[utoipa::path(
    request_body = Review,
    responses((status = 200, description = "reviewed"), (status = 404), (status = 409, description = "not pending")),
    security(("bearer" = [])),
)]
#[post("/admin/decisions/{id}/review")]
pub async fn review_decision(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<Review>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(1000).collect::<String>());
    let reviewer = grant
        .token_id
        .map_or_else(|| "bootstrap".to_string(), |t| t.to_string());
    let id = *path;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let status = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let found: Option<(Uuid, String, Option<serde_json::Value>)> = award_decisions::table
                .find(id)
                .select((
                    award_decisions::rule_id,
                    award_decisions::status,
                    award_decisions::pending_request,
                ))
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let (rule_id, status, request) = found.ok_or_else(|| ApiError::NotFound("no such decision".into()))?;
            let rule = rule_for(conn, &grant, rule_id)
                .await
                .map_err(|_| ApiError::NotFound("no such decision".into()))?;
            if status != "pending" {
                return Err(ApiError::Conflict(format!("the decision is {status}, not pending")));
            }
            let next = if body.approve { "requested" } else { "rejected" };
            diesel::update(award_decisions::table.find(id))
                .set((
                    award_decisions::status.eq(next),
                    award_decisions::reviewed_by.eq(&reviewer),
                    award_decisions::review_note.eq(&note),
                    award_decisions::reviewed_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            if body.approve {
                let mut request: IssueRequested = request
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a pending decision keeps its request")))?;
                // A relative expiry runs from the award, which is now.
                if let Some(expiry @ Expiry::AfterDays(_)) = decisions::definition_of(&rule).and_then(|d| d.expires) {
                    request.expires = Some(expiry.for_award(Utc::now()));
                }
                outbox::enqueue(
                    conn,
                    &Envelope::new(crate::SERVICE, request, Some(request_id.0.clone())),
                )
                .await
                .map_err(ApiError::internal)?;
            }
            Ok(next)
        })
        .await?;
    if status == "requested" {
        state.relay.wake();
    }
    tracing::info!(decision_id = %id, status, "award decision reviewed");
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": id, "status": status})))
}

/// A learner's attributes, as the filters read them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearnerAttributesBody {
    #[serde(default)]
    pub cohorts: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub sections: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Sets a learner's cohorts, groups, sections and roles (from an SIS
/// export, say); rules with learner filters read them. Platform-wide
/// tokens only: learners are not one tenant's.
#[utoipa::path(
    request_body = LearnerAttributesBody,
    responses((status = 200, body = LearnerAttributesBody), (status = 403), (status = 422)),
    security(("bearer" = [])),
)]
#[put("/admin/learners/{email}/attributes")]
pub async fn put_attributes(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<String>,
    body: web::Json<LearnerAttributesBody>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::RulesWrite)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "learner attributes need a platform-wide token".into(),
        ));
    }
    let email = EmailAddress::parse(&path).map_err(|e| ApiError::invalid_field(format!("email: {e}")))?;
    let clean = |field: &str, list: &[String]| -> Result<Vec<String>, ApiError> {
        if list.len() > 100 {
            return Err(ApiError::invalid_field(format!("{field}: at most 100")));
        }
        list.iter()
            .map(|v| bounded_id(field, v).map_err(|e| ApiError::invalid_field(e.to_string())))
            .collect()
    };
    let body = LearnerAttributesBody {
        cohorts: clean("cohorts", &body.cohorts)?,
        groups: clean("groups", &body.groups)?,
        sections: clean("sections", &body.sections)?,
        roles: clean("roles", &body.roles)?,
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::insert_into(learner_attributes::table)
        .values((
            learner_attributes::email.eq(email.as_str()),
            learner_attributes::cohorts.eq(&body.cohorts),
            learner_attributes::groups.eq(&body.groups),
            learner_attributes::sections.eq(&body.sections),
            learner_attributes::roles.eq(&body.roles),
        ))
        .on_conflict(learner_attributes::email)
        .do_update()
        .set((
            learner_attributes::cohorts.eq(&body.cohorts),
            learner_attributes::groups.eq(&body.groups),
            learner_attributes::sections.eq(&body.sections),
            learner_attributes::roles.eq(&body.roles),
            learner_attributes::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
