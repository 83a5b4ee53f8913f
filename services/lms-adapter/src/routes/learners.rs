//! The learner directory: which e-mail an LMS user id stands for.
//!
//! Most of it fills itself (events that carry both, LTI launches, NRPS
//! rosters); this API is for the rest — an SIS export, an LRS whose actors
//! are accounts. Mapping a user decides every event of theirs that was held.

use actix_web::{HttpResponse, get, put, web};
use akashi_model::EmailAddress;
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::schema::learner_identities;
use crate::decisions;
use crate::domain::completion::{bounded_id, bounded_optional};
use crate::startup::AppState;

/// One mapping.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearnerEntry {
    /// The source whose user id this is: a webhook source (`moodle`,
    /// `canvas`, `xapi`, `caliper`, `openedx`) or `lti:<platform id>`.
    #[schema(example = "moodle")]
    pub source: String,
    /// The user id as the source sends it (Moodle `relateduserid`, a Caliper
    /// actor IRI, an xAPI account as `<homePage>|<name>`).
    #[schema(example = "317")]
    pub lms_user_id: String,
    pub email: String,
    pub name: Option<String>,
}

/// A batch of mappings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearnerBatch {
    pub learners: Vec<LearnerEntry>,
}

/// What a batch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct LearnerBatchResult {
    pub mapped: usize,
    /// Awards requested for held events these mappings released.
    pub awards_requested: usize,
}

/// A mapping as listed.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct LearnerView {
    pub source: String,
    pub lms_user_id: String,
    pub email: String,
    pub name: Option<String>,
    /// `event`, `lti`, `nrps` or `admin`.
    pub origin: String,
    pub updated_at: DateTime<Utc>,
}

fn platform_only(grant: &Grant) -> Result<(), ApiError> {
    grant.require(Scope::SourcesWrite)?;
    if grant.is_platform() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the learner directory spans every tenant; it needs a platform token".into(),
        ))
    }
}

/// Maps LMS users to e-mails (at most 1,000 per call; all or nothing).
#[utoipa::path(
    request_body = LearnerBatch,
    responses((status = 200, body = LearnerBatchResult), (status = 422, description = "an entry is invalid; nothing was stored")),
    security(("bearer" = [])),
)]
#[put("/admin/learners")]
pub async fn put_learners(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<LearnerBatch>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let batch = body.into_inner();
    if batch.learners.is_empty() || batch.learners.len() > 1000 {
        return Err(ApiError::invalid_field("learners: 1 to 1000 entries"));
    }
    let mut parsed = Vec::with_capacity(batch.learners.len());
    for (i, entry) in batch.learners.into_iter().enumerate() {
        let field = |e: String| ApiError::invalid_field(format!("learners[{i}].{e}"));
        let source = bounded_id("source", &entry.source).map_err(|e| field(e.to_string()))?;
        let user = bounded_id("lms_user_id", &entry.lms_user_id).map_err(|e| field(e.to_string()))?;
        let email = EmailAddress::parse(&entry.email).map_err(|e| field(format!("email: {e}")))?;
        let name = bounded_optional("name", entry.name, 200).map_err(|e| field(e.to_string()))?;
        parsed.push((source, user, email, name));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let correlation = request_id.0.clone();
    let awards = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut awards = 0;
            for (source, user, email, name) in &parsed {
                awards += decisions::learn_identity(conn, source, user, email, name.as_deref(), "admin", &correlation)
                    .await?;
            }
            Ok(awards)
        })
        .await?;
    if awards > 0 {
        state.relay.wake();
    }
    Ok(HttpResponse::Ok().json(LearnerBatchResult {
        mapped: parsed.len(),
        awards_requested: awards,
    }))
}

/// Filters for the directory.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LearnerFilter {
    pub email: Option<String>,
    pub source: Option<String>,
    pub lms_user_id: Option<String>,
}

/// Looks learners up (at most 500).
#[utoipa::path(params(LearnerFilter), responses((status = 200, body = [LearnerView])), security(("bearer" = [])))]
#[get("/admin/learners")]
pub async fn list_learners(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<LearnerFilter>,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let mut q = learner_identities::table
        .select((
            learner_identities::source,
            learner_identities::lms_user_id,
            learner_identities::email,
            learner_identities::name,
            learner_identities::origin,
            learner_identities::updated_at,
        ))
        .order((learner_identities::source, learner_identities::lms_user_id))
        .limit(500)
        .into_boxed();
    if let Some(email) = &filter.email {
        let email = EmailAddress::parse(email).map_err(|e| ApiError::invalid_field(format!("email: {e}")))?;
        q = q.filter(learner_identities::email.eq(email.to_string()));
    }
    if let Some(source) = &filter.source {
        q = q.filter(learner_identities::source.eq(source.clone()));
    }
    if let Some(user) = &filter.lms_user_id {
        q = q.filter(learner_identities::lms_user_id.eq(user.clone()));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<LearnerView> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows))
}
