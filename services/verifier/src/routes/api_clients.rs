//! Admin: the verifier's API clients (HR systems), each with a key shown
//! once and a rate limit. Platform tokens only: the verifier serves
//! everyone, not one issuer organization.

use actix_web::{HttpResponse, delete, get, post, web};
use akashi_runtime::admin::Scope;
use akashi_runtime::{ApiError, Grant};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::api_clients;
use crate::startup::AppState;

/// Default and largest rate a client may be given (verifications a minute).
const DEFAULT_RATE: i32 = 600;
const MAX_RATE: i32 = 10_000_000;

/// A client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[schema(example = "Acme HR onboarding")]
    pub name: String,
    /// Verifications a minute (a batch item counts as one); default 600.
    #[schema(example = 6000)]
    pub rate_per_minute: Option<i32>,
}

/// A client as listed (never with its key).
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = api_clients)]
pub struct ClientView {
    pub id: Uuid,
    pub name: String,
    pub rate_per_minute: i32,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A registered client; `api_key` is shown this once and never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    #[schema(example = "akv_Jq3…")]
    pub api_key: String,
}

fn platform_only(grant: &Grant) -> Result<(), ApiError> {
    grant.require(Scope::ApiClientsWrite)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "API clients are managed with a platform token, not an organization's".into(),
        ));
    }
    Ok(())
}

/// Registers a client and answers its key (once).
#[utoipa::path(request_body = NewClient, responses((status = 201, body = CreatedClient), (status = 403), (status = 422)), security(("bearer" = [])))]
#[post("/admin/api-clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<NewClient>,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let body = body.into_inner();
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_field("name: 1 to 200 characters"));
    }
    let rate = body.rate_per_minute.unwrap_or(DEFAULT_RATE);
    if !(1..=MAX_RATE).contains(&rate) {
        return Err(ApiError::invalid_field(format!("rate_per_minute: 1 to {MAX_RATE}")));
    }
    let api_key = format!("akv_{}", akashi_crypto::token::generate_token());
    let client = ClientView {
        id: Uuid::now_v7(),
        name,
        rate_per_minute: rate,
        created_at: Utc::now(),
        revoked_at: None,
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::insert_into(api_clients::table)
        .values((
            api_clients::id.eq(client.id),
            api_clients::name.eq(&client.name),
            api_clients::key_hash.eq(akashi_crypto::token::hash_token(&api_key)),
            api_clients::rate_per_minute.eq(client.rate_per_minute),
            api_clients::created_at.eq(client.created_at),
        ))
        .execute(&mut conn)
        .await?;
    tracing::info!(client_id = %client.id, rate, "API client registered");
    Ok(HttpResponse::Created().json(CreatedClient { client, api_key }))
}

/// Every client, newest first.
#[utoipa::path(responses((status = 200, body = Vec<ClientView>), (status = 403)), security(("bearer" = [])))]
#[get("/admin/api-clients")]
pub async fn list_clients(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let clients: Vec<ClientView> = api_clients::table
        .order(api_clients::created_at.desc())
        .select(ClientView::as_select())
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(clients))
}

/// Revokes a client's key (idempotent): refused here at once, by every
/// replica within 30 s.
#[utoipa::path(responses((status = 204), (status = 404), (status = 403)), security(("bearer" = [])))]
#[delete("/admin/api-clients/{id}")]
pub async fn revoke_client(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let found = diesel::update(api_clients::table.find(id))
        .set(api_clients::revoked_at.eq(diesel::dsl::now))
        .execute(&mut conn)
        .await?;
    if found == 0 {
        return Err(ApiError::NotFound("no such API client".into()));
    }
    state.admission.forget(id);
    tracing::info!(client_id = %id, "API client revoked");
    Ok(HttpResponse::NoContent().finish())
}
