//! Webhook sources and their secrets (several at once during rotation).

use actix_web::{HttpResponse, get, put, web};
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::webhook_sources;
use crate::routes::webhooks::KNOWN_SOURCES;
use crate::startup::AppState;

/// The secrets a source signs with; the first signs, all verify.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SourceSecrets {
    #[schema(value_type = Vec<String>)]
    pub secrets: Vec<SecretString>,
}

/// A source as the admin API shows it (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    pub secret_count: usize,
    pub updated_at: DateTime<Utc>,
}

/// Shortest secret accepted.
const MIN_SECRET_LEN: usize = 8;

/// Sets (creates or replaces) the secrets of a webhook source.
#[utoipa::path(
    request_body = SourceSecrets,
    responses((status = 200, body = SourceView), (status = 404, description = "not a known source"), (status = 422)),
    security(("bearer" = [])),
)]
#[put("/admin/webhook-sources/{name}")]
pub async fn put_source(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<String>,
    body: web::Json<SourceSecrets>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SourcesWrite)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "webhook sources are platform-wide; a tenant-bound token cannot set them".into(),
        ));
    }
    let name = path.into_inner();
    if !KNOWN_SOURCES.contains(&name.as_str()) {
        return Err(ApiError::NotFound(format!("unknown webhook source {name:?}")));
    }
    let secrets: Vec<String> = body.secrets.iter().map(|s| s.expose_secret().to_string()).collect();
    if secrets.is_empty() || secrets.len() > 5 || secrets.iter().any(|s| s.len() < MIN_SECRET_LEN || s.len() > 512) {
        return Err(ApiError::invalid_field(format!(
            "secrets: 1 to 5 secrets of {MIN_SECRET_LEN} to 512 bytes each"
        )));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let updated_at: DateTime<Utc> = diesel::insert_into(webhook_sources::table)
        .values((webhook_sources::name.eq(&name), webhook_sources::secrets.eq(&secrets)))
        .on_conflict(webhook_sources::name)
        .do_update()
        .set((
            webhook_sources::secrets.eq(excluded(webhook_sources::secrets)),
            webhook_sources::updated_at.eq(diesel::dsl::now),
        ))
        .returning(webhook_sources::updated_at)
        .get_result(&mut conn)
        .await?;
    tracing::info!(source = %name, secrets = secrets.len(), "webhook source secrets set");
    Ok(HttpResponse::Ok().json(SourceView {
        name,
        secret_count: secrets.len(),
        updated_at,
    }))
}

/// Lists configured webhook sources.
#[utoipa::path(responses((status = 200, body = [SourceView])), security(("bearer" = [])))]
#[get("/admin/webhook-sources")]
pub async fn list_sources(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SourcesWrite)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<(String, Vec<String>, DateTime<Utc>)> = webhook_sources::table
        .select((
            webhook_sources::name,
            webhook_sources::secrets,
            webhook_sources::updated_at,
        ))
        .order(webhook_sources::name)
        .load(&mut conn)
        .await?;
    let views: Vec<SourceView> = rows
        .into_iter()
        .map(|(name, secrets, updated_at)| SourceView {
            name,
            secret_count: secrets.len(),
            updated_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
