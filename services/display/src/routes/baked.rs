//! `GET /badges/{id}/image.png` and `/image.svg`: the badge image with its
//! OB 2.0 assertion baked in — or, with `?format=ob3`, its OB 3.0
//! credential (the VC-JWT if it was issued, else the JSON with its Data
//! Integrity proof) — made from the badge class image as host serves it (a
//! PNG badge is wrapped to give an SVG; an SVG badge is rendered to give a
//! PNG). A revoked badge is not baked: 410.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use akashi_runtime::ApiError;
use akashi_runtime::http::{REQUEST_ID_HEADER, RequestId};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::baking::{self, BakeError};
use crate::routes::badge_page::{fetch_json, known_award};
use crate::startup::AppState;

/// Largest badge image fetched from host.
const MAX_IMAGE_BYTES: usize = 1024 * 1024;

struct Sources {
    assertion_url: String,
    assertion: String,
    image: Vec<u8>,
    is_svg: bool,
}

/// Which credential is baked.
#[derive(Debug, Deserialize, IntoParams)]
pub struct BakeQuery {
    /// `ob2` (default: the hosted assertion) or `ob3` (the OB 3.0 credential).
    pub format: Option<String>,
}

impl BakeQuery {
    fn ob3(&self) -> Result<bool, ApiError> {
        match self.format.as_deref() {
            None | Some("ob2") => Ok(false),
            Some("ob3") => Ok(true),
            Some(other) => Err(ApiError::invalid_field(format!("format: ob2 or ob3, not {other:?}"))),
        }
    }
}

/// The award's OB 3.0 credential as host serves it: its VC-JWT if there is
/// one, else its JSON (with a Data Integrity proof).
async fn ob3_credential(state: &AppState, request_id: &RequestId, assertion_url: &str) -> Result<String, ApiError> {
    let url = assertion_url.replacen("/ob2/assertions/", "/ob3/credentials/", 1);
    for accept in ["application/jwt", "application/json"] {
        let response = state
            .http
            .get(&url)
            .header(header::ACCEPT.as_str(), accept)
            .header(REQUEST_ID_HEADER, &request_id.0)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("host did not answer: {e}")))?;
        if response.status().is_success() {
            return response.text().await.map_err(|e| ApiError::Unavailable(e.to_string()));
        }
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            break;
        }
    }
    Err(ApiError::NotFound(
        "this badge was not issued as an OB 3.0 credential".into(),
    ))
}

async fn sources(state: &AppState, request_id: &RequestId, id: Uuid) -> Result<Sources, ApiError> {
    let award = known_award(state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such badge".into()))?;
    let response = state
        .http
        .get(&award.assertion_url)
        .header(header::ACCEPT.as_str(), "application/ld+json")
        .header(REQUEST_ID_HEADER, &request_id.0)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("host did not answer: {e}")))?;
    if response.status() == reqwest::StatusCode::GONE {
        return Err(ApiError::Gone("this badge has been revoked".into()));
    }
    if !response.status().is_success() {
        return Err(ApiError::Unavailable(format!("host answered {}", response.status())));
    }
    let assertion = response
        .text()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let badge_url = award
        .badge_class_url
        .ok_or_else(|| ApiError::NotFound("no badge class for this badge".into()))?;
    let badge = fetch_json(state, request_id, &badge_url)
        .await
        .ok_or_else(|| ApiError::Unavailable("the badge class could not be read".into()))?;
    let image_url = badge["image"]
        .as_str()
        .ok_or_else(|| ApiError::Unavailable("the badge class has no image".into()))?;
    let image = state
        .http
        .get(image_url)
        .header(REQUEST_ID_HEADER, &request_id.0)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("image: {e}")))?;
    let is_svg = image
        .headers()
        .get(header::CONTENT_TYPE.as_str())
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("image/svg+xml"));
    let bytes = image.bytes().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::Unavailable("the badge image is too large".into()));
    }
    Ok(Sources {
        assertion_url: award.assertion_url,
        assertion,
        image: bytes.to_vec(),
        is_svg,
    })
}

fn baking_failed(e: BakeError) -> ApiError {
    ApiError::internal(format!("baking: {e}"))
}

fn image(content_type: &str, body: Vec<u8>, id: Uuid, extension: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"badge-{id}.{extension}\""),
        ))
        // A baked SVG opened on its own must not run anything.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        ))
        .body(body)
}

/// The badge image as a baked PNG (`iTXt` `openbadges`).
#[utoipa::path(params(BakeQuery), responses((status = 200, content_type = "image/png"), (status = 404), (status = 410, description = "revoked"), (status = 422, description = "unknown format")))]
#[get("/badges/{id}/image.png")]
pub async fn baked_png(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<BakeQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let ob3 = query.ob3()?;
    let src = sources(&state, &request_id, id).await?;
    let (keyword, text) = if ob3 {
        (
            baking::OB3_KEYWORD,
            ob3_credential(&state, &request_id, &src.assertion_url).await?,
        )
    } else {
        (baking::OB2_KEYWORD, src.assertion.clone())
    };
    let png = if src.is_svg {
        let svg = src.image;
        tokio::task::spawn_blocking(move || baking::render_svg(&svg))
            .await
            .map_err(ApiError::internal)?
            .map_err(baking_failed)?
    } else {
        src.image
    };
    let baked = baking::bake_png(&png, keyword, &text).map_err(baking_failed)?;
    Ok(image("image/png", baked, id, "png"))
}

/// The badge image as a baked SVG (`openbadges:assertion`).
#[utoipa::path(params(BakeQuery), responses((status = 200, content_type = "image/svg+xml"), (status = 404), (status = 410, description = "revoked"), (status = 422, description = "unknown format")))]
#[get("/badges/{id}/image.svg")]
pub async fn baked_svg(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<BakeQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let ob3 = query.ob3()?;
    let src = sources(&state, &request_id, id).await?;
    let svg = if src.is_svg {
        String::from_utf8(src.image).map_err(|_| ApiError::internal("the SVG badge image is not UTF-8"))?
    } else {
        baking::svg_around_png(&src.image).map_err(baking_failed)?
    };
    let baked = if ob3 {
        let credential = ob3_credential(&state, &request_id, &src.assertion_url).await?;
        baking::bake_svg_ob3(&svg, &credential).map_err(baking_failed)?
    } else {
        baking::bake_svg(&svg, &src.assertion_url, &src.assertion).map_err(baking_failed)?
    };
    Ok(image("image/svg+xml", baked.into_bytes(), id, "svg"))
}
