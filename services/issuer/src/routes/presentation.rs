//! `PUT/GET /admin/issuers/{id}/presentation`: the time zone, logo and
//! signatory of an issuer's badge pages and certificates.

use actix_web::{HttpResponse, get, put, web};
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::models::IssuerPresentationRow;
use crate::db::schema::issuer_presentations;
use crate::domain::badge_image::{BadgeImage, ImageError};
use crate::domain::fields::Name;
use crate::domain::presentation::TimeZone;
use crate::keys::publish_issuer;
use crate::routes::issuers::visible_issuer;
use crate::startup::AppState;

/// How the issuer's pages and certificates look. A field left out keeps
/// what was set (so a form can change the time zone without sending the
/// logo again); `remove_logo` / `remove_signatory` clear.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PresentationRequest {
    /// IANA time zone for dates on pages and certificates (`UTC` until set).
    #[schema(example = "Asia/Tokyo")]
    pub time_zone: Option<String>,
    /// The issuer's logo, PNG or SVG, base64 (≤ 512 KiB).
    pub logo_base64: Option<String>,
    /// Who signs the certificates (a signature left out keeps the one set).
    pub signatory: Option<SignatoryRequest>,
    #[serde(default)]
    pub remove_logo: bool,
    #[serde(default)]
    pub remove_signatory: bool,
}

/// The person who signs certificates.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignatoryRequest {
    #[schema(example = "Hanako Yamada")]
    pub name: String,
    /// Printed under the name.
    #[schema(example = "Registrar")]
    pub title: Option<String>,
    /// The handwritten signature, PNG or SVG, base64 (≤ 512 KiB).
    pub signature_base64: Option<String>,
}

/// The presentation as the admin API shows it (images by type and size).
#[derive(Debug, Serialize, ToSchema)]
pub struct PresentationView {
    pub time_zone: String,
    pub logo_content_type: Option<String>,
    pub logo_bytes: Option<usize>,
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    pub signature_content_type: Option<String>,
    pub signature_bytes: Option<usize>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl PresentationView {
    /// What is stored, or the unset presentation (without `updated_at`).
    fn of(stored: Option<&IssuerPresentationRow>, issuer_id: uuid::Uuid) -> Self {
        let unset = IssuerPresentationRow::unset(issuer_id);
        let row = stored.unwrap_or(&unset);
        Self {
            time_zone: row.time_zone.clone(),
            logo_content_type: row.logo_content_type.clone(),
            logo_bytes: row.logo.as_ref().map(Vec::len),
            signatory_name: row.signatory_name.clone(),
            signatory_title: row.signatory_title.clone(),
            signature_content_type: row.signature_content_type.clone(),
            signature_bytes: row.signature.as_ref().map(Vec::len),
            updated_at: stored.map(|r| r.updated_at),
        }
    }
}

/// A base64 PNG/SVG field, checked as badge images are.
fn image(field: &str, base64: Option<&str>) -> Result<Option<BadgeImage>, ApiError> {
    let Some(encoded) = base64.filter(|b| !b.trim().is_empty()) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| ApiError::invalid_field(format!("{field}: not base64 ({e})")))?;
    BadgeImage::parse(bytes).map(Some).map_err(|e| match e {
        ImageError::TooLarge => ApiError::PayloadTooLarge(format!("{field}: {e}")),
        other => ApiError::invalid_field(format!("{field}: {other}")),
    })
}

/// Sets how the issuer's badge pages and certificates look, and publishes
/// it (display shows it from then on; issued credentials are unchanged).
#[utoipa::path(
    request_body = PresentationRequest,
    responses(
        (status = 200, body = PresentationView),
        (status = 404, description = "no such issuer (or another tenant's)"),
        (status = 413, description = "an image is larger than 512 KiB"),
        (status = 422, description = "a field is invalid: unknown time zone, an image that is not PNG/SVG"),
    ),
    security(("bearer" = [])),
)]
#[put("/admin/issuers/{issuer_id}/presentation")]
pub async fn put_presentation(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<uuid::Uuid>,
    body: web::Json<PresentationRequest>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::IssuersWrite)?;
    let issuer = visible_issuer(&state, &grant, path.into_inner()).await?;
    let time_zone = body
        .time_zone
        .as_deref()
        .filter(|z| !z.trim().is_empty())
        .map(|z| TimeZone::parse("time_zone", z))
        .transpose()
        .map_err(ApiError::invalid_field)?;
    let logo = image("logo_base64", body.logo_base64.as_deref())?;
    let signatory = match &body.signatory {
        Some(s) => Some((
            Name::parse("signatory.name", &s.name).map_err(ApiError::invalid_field)?,
            s.title
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Name::parse("signatory.title", t))
                .transpose()
                .map_err(ApiError::invalid_field)?,
            image("signatory.signature_base64", s.signature_base64.as_deref())?,
        )),
        None => None,
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    // What was set, changed by what was sent.
    let mut row = IssuerPresentationRow::stored(&mut conn, issuer.id)
        .await?
        .unwrap_or_else(|| IssuerPresentationRow::unset(issuer.id));
    row.updated_at = Utc::now();
    if let Some(zone) = time_zone {
        row.time_zone = zone.name().to_string();
    }
    if body.remove_logo {
        (row.logo, row.logo_content_type) = (None, None);
    }
    if let Some(logo) = logo {
        row.logo_content_type = Some(logo.content_type().to_string());
        row.logo = Some(logo.into_bytes());
    }
    if body.remove_signatory {
        (row.signatory_name, row.signatory_title) = (None, None);
        (row.signature, row.signature_content_type) = (None, None);
    }
    if let Some((name, title, signature)) = signatory {
        row.signatory_name = Some(name.into_inner());
        row.signatory_title = title.map(Name::into_inner);
        if let Some(signature) = signature {
            row.signature_content_type = Some(signature.content_type().to_string());
            row.signature = Some(signature.into_bytes());
        }
    }
    let links = state.links.clone();
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::insert_into(issuer_presentations::table)
            .values(&row)
            .on_conflict(issuer_presentations::issuer_id)
            .do_update()
            .set(&row)
            .execute(conn)
            .await?;
        publish_issuer(conn, &issuer, &links, Some(request_id.0))
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    })
    .await?;
    state.relay.wake();
    tracing::info!(issuer_id = %issuer.id, time_zone = %row.time_zone, "issuer presentation set");
    Ok(HttpResponse::Ok().json(PresentationView::of(Some(&row), issuer.id)))
}

/// How the issuer's badge pages and certificates look (`UTC` and nothing
/// else until it is set).
#[utoipa::path(responses((status = 200, body = PresentationView), (status = 404)), security(("bearer" = [])))]
#[get("/admin/issuers/{issuer_id}/presentation")]
pub async fn get_presentation(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::IssuersRead, Scope::IssuersWrite])?;
    let issuer = visible_issuer(&state, &grant, path.into_inner()).await?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row = IssuerPresentationRow::stored(&mut conn, issuer.id).await?;
    Ok(HttpResponse::Ok().json(PresentationView::of(row.as_ref(), issuer.id)))
}
