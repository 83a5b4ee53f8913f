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
    let (image, is_svg) = fetch_image(state, request_id, image_url).await?;
    Ok(Sources {
        assertion_url: award.assertion_url,
        assertion,
        image,
        is_svg,
    })
}

/// The badge class image host serves at `url`, and whether it is an SVG.
async fn fetch_image(state: &AppState, request_id: &RequestId, url: &str) -> Result<(Vec<u8>, bool), ApiError> {
    let image = state
        .http
        .get(url)
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
    Ok((bytes.to_vec(), is_svg))
}

fn baking_failed(e: BakeError) -> ApiError {
    ApiError::internal(format!("baking: {e}"))
}

/// What a badge image becomes before a credential goes in.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Prepared {
    /// A PNG of the pixels alone (an SVG badge rendered; a PNG badge
    /// decoded and written again without its text chunks).
    Png,
    /// A sanitized SVG (an SVG badge through the allow-list; a PNG badge
    /// wrapped in an SVG).
    Svg,
    /// The 1200×630 share card of one award in one language.
    ShareCard,
}

/// The cache of prepared badge images: one entry per distinct image
/// (keyed by its SHA-256), so decoding and rendering happen once per
/// image, never per request; baking a credential in is then a copy.
pub type PreparedImages = moka::sync::Cache<(Prepared, [u8; 32]), std::sync::Arc<Vec<u8>>>;

/// A prepared-image cache holding at most `max_bytes` of images.
pub fn prepared_images(max_bytes: u64) -> PreparedImages {
    moka::sync::Cache::builder()
        .weigher(|_, image: &std::sync::Arc<Vec<u8>>| image.len().try_into().unwrap_or(u32::MAX))
        .max_capacity(max_bytes)
        .build()
}

/// `src`'s image prepared as `kind`, from the cache or made (off the
/// async workers) and cached. An image over the size limits is refused
/// from its header or its parse, before any decoding or rendering.
async fn prepared(state: &AppState, kind: Prepared, src: &Sources) -> Result<std::sync::Arc<Vec<u8>>, ApiError> {
    let (image, is_svg) = (src.image.clone(), src.is_svg);
    prepared_with(state, kind, src, move || match (kind, is_svg) {
        (Prepared::Png, true) => baking::render_svg(&image),
        (Prepared::Png, false) => baking::prepare_png(&image),
        (Prepared::Svg, true) => akashi_image::sanitize_svg(&image)
            .map(String::into_bytes)
            .map_err(|e| BakeError::Render(e.to_string())),
        (Prepared::Svg, false) => baking::svg_around_png(&image).map(String::into_bytes),
        (Prepared::ShareCard, _) => Err(BakeError::Render("a share card is made by share_card".into())),
    })
    .await
}

/// `make`'s answer for `src`'s bytes as `kind`, from the cache or made off
/// the async workers and cached.
async fn prepared_with(
    state: &AppState,
    kind: Prepared,
    src: &Sources,
    make: impl FnOnce() -> Result<Vec<u8>, BakeError> + Send + 'static,
) -> Result<std::sync::Arc<Vec<u8>>, ApiError> {
    use sha2::Digest;
    let key = (kind, <[u8; 32]>::from(sha2::Sha256::digest(&src.image)));
    if let Some(hit) = state.prepared_images.get(&key) {
        return Ok(hit);
    }
    let made = tokio::task::spawn_blocking(make)
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            tracing::warn!(error = %e, "a badge image cannot be baked");
            ApiError::unprocessable("unusable_badge_image", format!("the badge image cannot be baked: {e}"))
        })?;
    metrics::counter!("akashi_display_images_prepared_total").increment(1);
    let made = std::sync::Arc::new(made);
    state.prepared_images.insert(key, made.clone());
    Ok(made)
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

/// The badge class's image as a PNG (an SVG one rendered), prepared once
/// and cached; `None` when it cannot be had (the certificate goes without).
pub async fn badge_png(state: &AppState, request_id: &RequestId, badge: &serde_json::Value) -> Option<Vec<u8>> {
    let url = badge["image"].as_str()?;
    let (image, is_svg) = fetch_image(state, request_id, url).await.ok()?;
    let src = Sources {
        assertion_url: String::new(),
        assertion: String::new(),
        image,
        is_svg,
    };
    prepared(state, Prepared::Png, &src).await.ok().map(|png| png.to_vec())
}

/// The language of a share card.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CardQuery {
    /// `ja` or `en` (else `Accept-Language`).
    pub lang: Option<String>,
}

/// The image link previews show (Open Graph, X): a 1200×630 PNG with the
/// badge, its name, its issuer and who earned it, in the page's language.
/// Made once per award, language and wording, then served from the cache.
#[utoipa::path(params(CardQuery), responses((status = 200, content_type = "image/png"), (status = 404), (status = 410, description = "revoked")))]
#[get("/badges/{id}/og.png")]
pub async fn share_card(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<CardQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    use crate::domain::lang::Lang;
    use crate::routes::badge_page::{award_known, reader_language};
    let lang = reader_language(&req, query.lang.as_deref());
    let award = award_known(&state, path.into_inner()).await?;
    if award.revocation_reason.is_some() {
        return Err(ApiError::Gone("this badge has been revoked".into()));
    }
    let (badge, issuer) = crate::routes::badge_page::badge_and_issuer(&state, &request_id, &award, lang).await;
    let image_url = badge["image"]
        .as_str()
        .ok_or_else(|| ApiError::Unavailable("the badge class has no image".into()))?;
    let (image, is_svg) = fetch_image(&state, &request_id, image_url).await?;
    let badge_name = badge["name"].as_str().unwrap_or("Badge").to_string();
    let issuer_name = issuer["name"].as_str().unwrap_or_default().to_string();
    let earned = award
        .recipient_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| match lang {
            Lang::Ja => format!("{n} さんが取得"),
            Lang::En => format!("Earned by {n}"),
        });
    let footer = match lang {
        Lang::Ja => "証 Akashi で検証できるバッジ",
        Lang::En => "A badge anyone can verify — Akashi",
    };
    // The cache key covers every input of the picture.
    let mut source = image.clone();
    for part in [
        badge_name.as_str(),
        issuer_name.as_str(),
        earned.as_deref().unwrap_or(""),
        footer,
    ] {
        source.extend_from_slice(part.as_bytes());
        source.push(0);
    }
    let src = Sources {
        assertion_url: award.assertion_url.clone(),
        assertion: String::new(),
        image: source,
        is_svg,
    };
    let card = prepared_with(&state, Prepared::ShareCard, &src, move || {
        let badge_png = if is_svg { baking::render_svg(&image)? } else { image };
        baking::render_share_card(
            &baking::CardText {
                badge: &badge_name,
                issuer: &issuer_name,
                earned,
                footer,
            },
            &badge_png,
        )
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(card.to_vec()))
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
    let png = prepared(&state, Prepared::Png, &src).await?;
    let baked = baking::insert_itxt(&png, keyword, &text);
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
    let svg = prepared(&state, Prepared::Svg, &src).await?;
    let svg = std::str::from_utf8(&svg).map_err(|_| ApiError::internal("a prepared SVG is not UTF-8"))?;
    let baked = if ob3 {
        let credential = ob3_credential(&state, &request_id, &src.assertion_url).await?;
        baking::bake_svg_ob3(svg, &credential).map_err(baking_failed)?
    } else {
        baking::bake_svg(svg, &src.assertion_url, &src.assertion).map_err(baking_failed)?
    };
    Ok(image("image/svg+xml", baked.into_bytes(), id, "svg"))
}
