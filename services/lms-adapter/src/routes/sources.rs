//! Webhook sources and their credentials: secrets (several at once during
//! rotation), Canvas's JWKS URL, and the Canvas REST API the reconciliation
//! job polls.

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
use crate::sources::KNOWN_SOURCES;
use crate::startup::AppState;

/// A source's credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSecrets {
    /// HMAC secrets and shared tokens (Moodle's body token, an LRS's Basic
    /// password, a Bearer key); any of them is accepted.
    #[schema(value_type = Vec<String>)]
    pub secrets: Vec<SecretString>,
    /// canvas: the JWKS that signs "Sign Payload" deliveries.
    pub jwks_url: Option<String>,
    /// canvas: the instance's base URL (`https://canvas.example.edu`) for the
    /// reconciliation job.
    pub api_base_url: Option<String>,
    /// canvas: an API access token with read access to course progress.
    #[schema(value_type = Option<String>)]
    pub api_token: Option<SecretString>,
    /// The tenant (issuer id) this LMS belongs to: its events, courses and
    /// learners are seen only by that tenant's rules. Without it the source
    /// is shared by every tenant (one institution per deployment).
    pub tenant: Option<uuid::Uuid>,
}

fn http_url(field: &str, raw: &Option<String>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match url::Url::parse(raw.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(Some(u.as_str().trim_end_matches('/').to_string()))
        }
        _ => Err(ApiError::invalid_field(format!("{field}: must be an http(s) URL"))),
    }
}

/// A source as the admin API shows it (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    pub secret_count: usize,
    pub jwks_url: Option<String>,
    pub api_base_url: Option<String>,
    pub has_api_token: bool,
    /// The tenant whose rules alone see this source's events; `null`: shared.
    pub tenant: Option<uuid::Uuid>,
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
    let jwks_url = http_url("jwks_url", &body.jwks_url)?;
    let api_base_url = http_url("api_base_url", &body.api_base_url)?;
    let api_token = body.api_token.as_ref().map(|t| t.expose_secret().to_string());
    if name != "canvas" && (jwks_url.is_some() || api_base_url.is_some() || api_token.is_some()) {
        return Err(ApiError::invalid_field(
            "jwks_url, api_base_url and api_token are for the canvas source only",
        ));
    }
    if api_base_url.is_some() != api_token.is_some() {
        return Err(ApiError::invalid_field("api_base_url and api_token go together"));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let updated_at: DateTime<Utc> = diesel::insert_into(webhook_sources::table)
        .values((
            webhook_sources::name.eq(&name),
            webhook_sources::secrets.eq(&secrets),
            webhook_sources::jwks_url.eq(&jwks_url),
            webhook_sources::api_base_url.eq(&api_base_url),
            webhook_sources::api_token.eq(&api_token),
            webhook_sources::tenant_issuer_id.eq(body.tenant),
        ))
        .on_conflict(webhook_sources::name)
        .do_update()
        .set((
            webhook_sources::secrets.eq(excluded(webhook_sources::secrets)),
            webhook_sources::jwks_url.eq(excluded(webhook_sources::jwks_url)),
            webhook_sources::api_base_url.eq(excluded(webhook_sources::api_base_url)),
            webhook_sources::api_token.eq(excluded(webhook_sources::api_token)),
            webhook_sources::tenant_issuer_id.eq(excluded(webhook_sources::tenant_issuer_id)),
            webhook_sources::updated_at.eq(diesel::dsl::now),
        ))
        .returning(webhook_sources::updated_at)
        .get_result(&mut conn)
        .await?;
    tracing::info!(source = %name, secrets = secrets.len(), tenant = ?body.tenant, "webhook source secrets set");
    Ok(HttpResponse::Ok().json(SourceView {
        name,
        secret_count: secrets.len(),
        has_api_token: api_token.is_some(),
        tenant: body.tenant,
        jwks_url,
        api_base_url,
        updated_at,
    }))
}

/// Lists configured webhook sources (platform-wide, like setting them).
#[utoipa::path(responses((status = 200, body = [SourceView]), (status = 403)), security(("bearer" = [])))]
#[get("/admin/webhook-sources")]
pub async fn list_sources(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SourcesWrite)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "webhook sources are platform-wide; a tenant-bound token cannot see them".into(),
        ));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<uuid::Uuid>,
        DateTime<Utc>,
    )> = webhook_sources::table
        .select((
            webhook_sources::name,
            webhook_sources::secrets,
            webhook_sources::jwks_url,
            webhook_sources::api_base_url,
            webhook_sources::api_token,
            webhook_sources::tenant_issuer_id,
            webhook_sources::updated_at,
        ))
        .order(webhook_sources::name)
        .load(&mut conn)
        .await?;
    let views: Vec<SourceView> = rows
        .into_iter()
        .map(
            |(name, secrets, jwks_url, api_base_url, api_token, tenant, updated_at)| SourceView {
                name,
                secret_count: secrets.len(),
                jwks_url,
                api_base_url,
                has_api_token: api_token.is_some(),
                tenant,
                updated_at,
            },
        )
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
