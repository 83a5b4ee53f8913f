//! Issuer organizations (tenants) and their public profile.

use actix_web::{HttpResponse, get, post, web};
use akashi_model::EmailAddress;
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::lower;
use crate::db::models::IssuerRow;
use crate::db::schema::{issuers, signing_keys};
use crate::domain::fields::{LongText, Name, WebUrl};
use crate::domain::keyring::KeyAlgorithm;
use crate::keys::publish_issuer;
use crate::startup::AppState;

/// A new issuer organization.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewIssuer {
    #[schema(example = "Akashi Demo University")]
    pub name: String,
    #[schema(example = "https://demo.akashi.example")]
    pub url: String,
    #[schema(example = "badges@demo.akashi.example")]
    pub email: String,
    pub description: Option<String>,
}

/// An issuer organization as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerView {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub email: String,
    pub description: Option<String>,
    /// The OB 2.0 Profile's public URL (on host).
    pub profile_url: String,
    pub created_at: DateTime<Utc>,
}

impl IssuerView {
    fn from_row(row: IssuerRow, state: &AppState) -> Self {
        Self {
            profile_url: state.links.issuer(row.id),
            id: row.id,
            name: row.name,
            url: row.url,
            email: row.email,
            description: row.description,
            created_at: row.created_at,
        }
    }
}

/// Creates an issuer organization and publishes its profile.
#[utoipa::path(
    request_body = NewIssuer,
    responses(
        (status = 201, body = IssuerView),
        (status = 401, description = "no or unknown token"),
        (status = 403, description = "missing scope issuers:write, or a tenant-bound token"),
        (status = 409, description = "an issuer with this name exists"),
        (status = 422, description = "a field is invalid"),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/issuers")]
pub async fn create_issuer(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    body: web::Json<NewIssuer>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::IssuersWrite)?;
    if !grant.is_platform() {
        return Err(ApiError::Forbidden(
            "a tenant-bound token cannot create issuer organizations".into(),
        ));
    }
    let name = Name::parse("name", &body.name).map_err(ApiError::invalid_field)?;
    let url = WebUrl::parse("url", &body.url).map_err(ApiError::invalid_field)?;
    let email = EmailAddress::parse(&body.email).map_err(|e| ApiError::invalid_field(format!("email: {e}")))?;
    let description = body
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| LongText::parse("description", d))
        .transpose()
        .map_err(ApiError::invalid_field)?;
    let now = Utc::now();
    let row = IssuerRow {
        id: Uuid::now_v7(),
        name: name.into_inner(),
        url: url.as_str().to_string(),
        email: email.as_str().to_string(),
        description: description.map(LongText::into_inner),
        created_at: now,
        updated_at: now,
    };
    let mut keys = Vec::new();
    for algorithm in KeyAlgorithm::ALL {
        keys.push(
            state
                .keyring
                .generate(row.id, algorithm, now, &state.links)
                .await
                .map_err(ApiError::internal)?,
        );
    }
    let links = state.links.clone();
    let correlation = Some(request_id.0);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let inserted = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let inserted = diesel::insert_into(issuers::table).values(&row).execute(conn).await;
            match inserted {
                Err(e) if akashi_db::is_unique_violation(&e) => {
                    return Err(ApiError::Conflict(format!(
                        "an issuer named {:?} exists already",
                        row.name
                    )));
                }
                other => other?,
            };
            diesel::insert_into(signing_keys::table)
                .values(&keys)
                .execute(conn)
                .await?;
            publish_issuer(conn, &row, &links, correlation.clone())
                .await
                .map_err(ApiError::internal)?;
            Ok(row.clone())
        })
        .await?;
    state.relay.wake();
    tracing::info!(issuer_id = %inserted.id, "issuer created");
    Ok(HttpResponse::Created().json(IssuerView::from_row(inserted, &state)))
}

/// Filters for listing issuers.
#[derive(Debug, Deserialize, IntoParams)]
pub struct IssuerFilter {
    /// Exact name (case-insensitive), e.g. to find one before creating it.
    pub name: Option<String>,
}

/// Lists the issuer organizations the token may see.
#[utoipa::path(params(IssuerFilter), responses((status = 200, body = [IssuerView])), security(("bearer" = [])))]
#[get("/admin/issuers")]
pub async fn list_issuers(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<IssuerFilter>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::IssuersRead, Scope::IssuersWrite])?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut query = issuers::table
        .select(IssuerRow::as_select())
        .order(issuers::created_at)
        .into_boxed();
    if let Some(own) = grant.issuer_id {
        query = query.filter(issuers::id.eq(own));
    }
    if let Some(name) = filter.name.as_deref() {
        query = query.filter(lower(issuers::name).eq(lower(name.trim().to_string())));
    }
    let rows: Vec<IssuerRow> = query.load(&mut conn).await?;
    let views: Vec<IssuerView> = rows.into_iter().map(|r| IssuerView::from_row(r, &state)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Loads an issuer the token may see, or 404.
pub async fn visible_issuer(state: &AppState, grant: &Grant, id: Uuid) -> Result<IssuerRow, ApiError> {
    grant.require_issuer(id)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    issuers::table
        .find(id)
        .select(IssuerRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such issuer".into()))
}

/// One issuer organization.
#[utoipa::path(responses((status = 200, body = IssuerView), (status = 404)), security(("bearer" = [])))]
#[get("/admin/issuers/{issuer_id}")]
pub async fn get_issuer(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::IssuersRead, Scope::IssuersWrite])?;
    let row = visible_issuer(&state, &grant, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(IssuerView::from_row(row, &state)))
}
