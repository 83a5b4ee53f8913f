//! Admin API for LTI: platform registrations, one-time dynamic registration
//! links, syncing rosters and scores now, and rotating the tool's key.
//! Platforms are platform-wide (one LMS serves every tenant), so these need
//! a platform token with `sources:write`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use akashi_crypto::token::{generate_token, hash_token};
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::PlatformRow;
use crate::db::schema::{lti_contexts, lti_platforms, lti_registration_links};
use crate::sources::KNOWN_SOURCES;
use crate::startup::AppState;
use crate::sync::{self, SyncReport};

fn platform_admin(grant: &Grant) -> Result<(), ApiError> {
    grant.require(Scope::SourcesWrite)?;
    if grant.is_platform() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "LTI platforms serve every tenant; registering one needs a platform token".into(),
        ))
    }
}

/// A platform registration (LTI 1.3 "manual" registration).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlatform {
    /// The platform's issuer (`iss`), e.g. `https://canvas.instructure.com`.
    pub issuer: String,
    pub client_id: String,
    /// Deployment ids launches may carry (an unknown one is refused).
    pub deployment_ids: Vec<String>,
    /// The platform's JWKS (its id_token keys).
    pub jwks_url: String,
    /// The OIDC authorization endpoint.
    pub auth_url: String,
    /// The OAuth 2.0 token endpoint (AGS, NRPS).
    pub token_url: String,
    /// The `aud` of client assertions, when not the token URL.
    pub token_audience: Option<String>,
    /// The webhook source whose user ids are this platform's `sub`
    /// (`moodle` for Moodle), so launches and rosters map those users.
    pub user_source: Option<String>,
    pub name: Option<String>,
    /// The Akashi issuer (tenant) whose badges instructors on this platform
    /// may place; every issuer's when absent.
    pub tenant_issuer_id: Option<Uuid>,
}

/// A platform as the admin API shows it, with what to enter in the LMS.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformView {
    pub id: Uuid,
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    pub jwks_url: String,
    pub auth_url: String,
    pub token_url: String,
    pub token_audience: Option<String>,
    pub user_source: Option<String>,
    pub name: Option<String>,
    pub tenant_issuer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The tool's URLs to enter in the LMS.
    pub tool: ToolUrls,
}

/// The tool's side of a registration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolUrls {
    pub login_url: String,
    pub launch_url: String,
    pub jwks_url: String,
    pub deep_linking_url: String,
}

fn tool_urls(state: &AppState) -> ToolUrls {
    ToolUrls {
        login_url: format!("{}/lti/login", state.public_url),
        launch_url: format!("{}/lti/launch", state.public_url),
        jwks_url: format!("{}/lti/jwks", state.public_url),
        deep_linking_url: format!("{}/lti/launch", state.public_url),
    }
}

fn view(state: &AppState, p: PlatformRow) -> PlatformView {
    PlatformView {
        id: p.id,
        issuer: p.issuer,
        client_id: p.client_id,
        deployment_ids: p.deployment_ids,
        jwks_url: p.jwks_url,
        auth_url: p.auth_url,
        token_url: p.token_url,
        token_audience: p.token_audience,
        user_source: p.user_source,
        name: p.name,
        tenant_issuer_id: p.tenant_issuer_id,
        created_at: p.created_at,
        tool: tool_urls(state),
    }
}

fn url_field(field: &str, raw: &str) -> Result<String, ApiError> {
    match url::Url::parse(raw.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(raw.trim().to_string()),
        _ => Err(ApiError::invalid_field(format!("{field}: must be an http(s) URL"))),
    }
}

fn text_field(field: &str, raw: &str) -> Result<String, ApiError> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 500 || t.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(format!("{field}: 1-500 characters")));
    }
    Ok(t.to_string())
}

fn parse_platform(body: NewPlatform, id: Uuid, now: DateTime<Utc>) -> Result<PlatformRow, ApiError> {
    if body.deployment_ids.len() > 1000 {
        return Err(ApiError::invalid_field("deployment_ids: at most 1000"));
    }
    let deployment_ids = body
        .deployment_ids
        .iter()
        .map(|d| text_field("deployment_ids", d))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(s) = &body.user_source
        && (!KNOWN_SOURCES.contains(&s.as_str()) || s == "generic")
    {
        return Err(ApiError::invalid_field(
            "user_source: moodle, canvas, xapi, caliper or openedx",
        ));
    }
    Ok(PlatformRow {
        id,
        issuer: text_field("issuer", &body.issuer)?,
        client_id: text_field("client_id", &body.client_id)?,
        deployment_ids,
        jwks_url: url_field("jwks_url", &body.jwks_url)?,
        auth_url: url_field("auth_url", &body.auth_url)?,
        token_url: url_field("token_url", &body.token_url)?,
        token_audience: body
            .token_audience
            .as_deref()
            .map(|a| text_field("token_audience", a))
            .transpose()?,
        user_source: body.user_source,
        name: body.name.as_deref().map(|n| text_field("name", n)).transpose()?,
        tenant_issuer_id: body.tenant_issuer_id,
        created_at: now,
        updated_at: now,
    })
}

/// Registers a platform.
#[utoipa::path(
    request_body = NewPlatform,
    responses((status = 201, body = PlatformView), (status = 409, description = "issuer and client_id already registered"), (status = 422)),
    security(("bearer" = [])),
)]
#[post("/admin/lti/platforms")]
pub async fn create_platform(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<NewPlatform>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let row = parse_platform(body.into_inner(), Uuid::now_v7(), Utc::now())?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    match diesel::insert_into(lti_platforms::table)
        .values(&row)
        .execute(&mut conn)
        .await
    {
        Err(e) if akashi_db::is_unique_violation(&e) => {
            return Err(ApiError::Conflict(
                "this issuer and client_id are already registered".into(),
            ));
        }
        other => other?,
    };
    tracing::info!(platform_id = %row.id, issuer = %row.issuer, "LTI platform registered");
    Ok(HttpResponse::Created().json(view(&state, row)))
}

/// Replaces a platform's registration (deployments come and go).
#[utoipa::path(request_body = NewPlatform, responses((status = 200, body = PlatformView), (status = 404)), security(("bearer" = [])))]
#[put("/admin/lti/platforms/{id}")]
pub async fn update_platform(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<NewPlatform>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let existing = sync::platform(&mut conn, *path).await?;
    let row = parse_platform(body.into_inner(), existing.id, existing.created_at)?;
    diesel::update(lti_platforms::table.find(existing.id))
        .set((
            lti_platforms::issuer.eq(&row.issuer),
            lti_platforms::client_id.eq(&row.client_id),
            lti_platforms::deployment_ids.eq(&row.deployment_ids),
            lti_platforms::jwks_url.eq(&row.jwks_url),
            lti_platforms::auth_url.eq(&row.auth_url),
            lti_platforms::token_url.eq(&row.token_url),
            lti_platforms::token_audience.eq(&row.token_audience),
            lti_platforms::user_source.eq(&row.user_source),
            lti_platforms::name.eq(&row.name),
            lti_platforms::tenant_issuer_id.eq(&row.tenant_issuer_id),
            lti_platforms::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, row)))
}

/// Lists platforms.
#[utoipa::path(responses((status = 200, body = [PlatformView])), security(("bearer" = [])))]
#[get("/admin/lti/platforms")]
pub async fn list_platforms(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<PlatformRow> = lti_platforms::table
        .order(lti_platforms::created_at)
        .select(PlatformRow::as_select())
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(|r| view(&state, r)).collect::<Vec<_>>()))
}

/// Removes a platform (its launches stop working at once).
#[utoipa::path(responses((status = 204), (status = 404)), security(("bearer" = [])))]
#[delete("/admin/lti/platforms/{id}")]
pub async fn delete_platform(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let n = diesel::delete(lti_platforms::table.find(*path))
        .execute(&mut conn)
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("no such LTI platform".into()));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A request for a dynamic registration link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistrationLink {
    /// As on a platform; guessed from the platform's product when absent.
    pub user_source: Option<String>,
    /// As on a platform.
    pub tenant_issuer_id: Option<Uuid>,
}

/// A one-time link to paste into the LMS (valid one hour).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Makes a one-time LTI Dynamic Registration link.
#[utoipa::path(request_body = NewRegistrationLink, responses((status = 201, body = RegistrationLink)), security(("bearer" = [])))]
#[post("/admin/lti/registration-links")]
pub async fn create_registration_link(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<NewRegistrationLink>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    if let Some(s) = &body.user_source
        && (!KNOWN_SOURCES.contains(&s.as_str()) || s == "generic")
    {
        return Err(ApiError::invalid_field(
            "user_source: moodle, canvas, xapi, caliper or openedx",
        ));
    }
    let token = generate_token();
    let expires_at = Utc::now() + Duration::hours(1);
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::insert_into(lti_registration_links::table)
        .values((
            lti_registration_links::token_hash.eq(hash_token(&token)),
            lti_registration_links::user_source.eq(&body.user_source),
            lti_registration_links::tenant_issuer_id.eq(&body.tenant_issuer_id),
            lti_registration_links::expires_at.eq(expires_at),
        ))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::Created().json(RegistrationLink {
        url: format!("{}/lti/register?akashi_token={token}", state.public_url),
        expires_at,
    }))
}

/// What to sync.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// One course context; all of the platform's when absent.
    pub context_id: Option<String>,
}

/// Reads rosters (NRPS) and scores (AGS) of the platform's contexts now.
#[utoipa::path(request_body = SyncRequest, responses((status = 200, body = SyncReport), (status = 404, description = "no such platform, or (`context_unknown`) a context the platform never launched the tool in")), security(("bearer" = [])))]
#[post("/admin/lti/platforms/{id}/sync")]
pub async fn sync_now(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<SyncRequest>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let platform = {
        let mut conn = akashi_db::conn(&state.pool).await?;
        sync::platform(&mut conn, *path).await?
    };
    let report = sync::sync_platform(&state, &platform, body.context_id.as_deref()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// A context seen in launches.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct ContextView {
    pub context_id: String,
    pub title: Option<String>,
    pub label: Option<String>,
    pub lineitems_url: Option<String>,
    pub memberships_url: Option<String>,
    pub synced_at: Option<DateTime<Utc>>,
}

/// The course contexts a platform launched from.
#[utoipa::path(responses((status = 200, body = [ContextView])), security(("bearer" = [])))]
#[get("/admin/lti/platforms/{id}/contexts")]
pub async fn list_contexts(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<ContextView> = lti_contexts::table
        .filter(lti_contexts::platform_id.eq(*path))
        .order(lti_contexts::updated_at.desc())
        .select((
            lti_contexts::context_id,
            lti_contexts::title,
            lti_contexts::label,
            lti_contexts::lineitems_url,
            lti_contexts::memberships_url,
            lti_contexts::synced_at,
        ))
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The new key's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    pub kid: String,
}

/// Rotates the tool's signing key; the old one stays published 30 days.
#[utoipa::path(responses((status = 200, body = RotatedKey)), security(("bearer" = [])))]
#[post("/admin/lti/keys/rotate")]
pub async fn rotate_key(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let kid = state.tool_keys.rotate(&mut conn).await?;
    Ok(HttpResponse::Ok().json(RotatedKey { kid }))
}

/// Polls Canvas now for completions its Live Events may have lost.
#[utoipa::path(responses((status = 200, body = SyncReport)), security(("bearer" = [])))]
#[post("/admin/webhook-sources/canvas/reconcile")]
pub async fn reconcile_canvas(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    platform_admin(&grant)?;
    Ok(HttpResponse::Ok().json(sync::reconcile_canvas(&state).await?))
}
