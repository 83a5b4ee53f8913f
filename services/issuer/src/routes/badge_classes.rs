//! Badge classes: what an issuer's learners can earn, with the badge image.

use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use akashi_bus::{Envelope, outbox};
use akashi_model::messages::{BadgeClassPublished, ImageBlob};
use akashi_runtime::http::{RequestId, header_str, read_body_limited, read_field_limited};
use akashi_runtime::{ApiError, Grant, Scope};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::BadgeClassRow;
use crate::db::schema::badge_classes;
use crate::domain::badge_image::{BadgeImage, MAX_IMAGE_BYTES};
use crate::domain::documents;
use crate::domain::fields::{LongText, Name, WebUrl};
use crate::domain::formats::Formats;
use crate::domain::languages::{BadgeTexts, Language, Translations, parse_language};
use crate::routes::issuers::visible_issuer;
use crate::startup::AppState;

/// A new badge class. As JSON the image is base64 (`image_base64`); as
/// `multipart/form-data` the same fields are form fields and `image` a file.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewBadgeClass {
    #[schema(example = "Data Science Foundations")]
    pub name: String,
    pub description: String,
    /// What the earner did, in words (Markdown allowed).
    pub criteria: String,
    /// Optional page describing the criteria.
    pub criteria_url: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Formats each award is issued in: `ob2_hosted` (always), `ob2_signed`,
    /// `ob3_vcjwt`. Default: every format Akashi supports.
    #[serde(default)]
    pub formats: Vec<String>,
    /// Awards expire this many days after issue (1–36500).
    pub expires_after_days: Option<i32>,
    /// Or: awards expire at this fixed time (in the future).
    pub expires_on: Option<DateTime<Utc>>,
    /// PNG or SVG, base64 (JSON requests only).
    pub image_base64: Option<String>,
    /// Competencies or standards the badge aligns to (JSON requests only).
    #[serde(default)]
    pub alignments: Vec<NewAlignment>,
    /// The language name, description and criteria are written in: `en`
    /// (default) or `ja`.
    #[schema(example = "en")]
    pub language: Option<String>,
    /// The same texts in the other language, e.g. `{"ja": {"name": …,
    /// "description": …, "criteria": …}}`. As a form: `name_ja`,
    /// `description_ja`, `criteria_ja` (or `…_en`).
    #[serde(default)]
    pub translations: BTreeMap<String, BadgeTexts>,
}

/// One alignment of a badge class: published as an OB 2.0 AlignmentObject
/// and an OB 3.0 Alignment.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewAlignment {
    #[schema(example = "Data literacy")]
    pub target_name: String,
    pub target_url: String,
    pub target_description: Option<String>,
    pub target_framework: Option<String>,
    pub target_code: Option<String>,
}

/// At most this many alignments per badge class.
const MAX_ALIGNMENTS: usize = 20;

/// Checks alignments and turns them into AlignmentObjects.
fn parse_alignments(given: &[NewAlignment]) -> Result<serde_json::Value, ApiError> {
    if given.len() > MAX_ALIGNMENTS {
        return Err(ApiError::invalid_field(format!("alignments: at most {MAX_ALIGNMENTS}")));
    }
    let mut out = Vec::new();
    for a in given {
        let mut object = serde_json::json!({
            "targetName": Name::parse("alignments.target_name", &a.target_name).map_err(ApiError::invalid_field)?.into_inner(),
            "targetUrl": WebUrl::parse("alignments.target_url", &a.target_url).map_err(ApiError::invalid_field)?.as_str(),
        });
        let optional = [
            (
                "targetDescription",
                "alignments.target_description",
                &a.target_description,
            ),
            ("targetFramework", "alignments.target_framework", &a.target_framework),
            ("targetCode", "alignments.target_code", &a.target_code),
        ];
        for (key, field, value) in optional {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                object[key] =
                    serde_json::json!(LongText::parse(field, v).map_err(ApiError::invalid_field)?.into_inner());
            }
        }
        out.push(object);
    }
    Ok(serde_json::Value::Array(out))
}

/// A badge class as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeClassView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub name: String,
    pub description: String,
    pub criteria: String,
    pub criteria_url: Option<String>,
    pub tags: Vec<String>,
    pub formats: Vec<String>,
    pub expires_after_days: Option<i32>,
    pub expires_on: Option<DateTime<Utc>>,
    /// OB 2.0 AlignmentObjects.
    #[schema(value_type = Vec<Object>)]
    pub alignments: serde_json::Value,
    pub image_content_type: String,
    /// The language of name, description and criteria.
    pub language: String,
    /// The same texts in other languages, by language.
    #[schema(value_type = Object)]
    pub translations: serde_json::Value,
    /// The OB 2.0 BadgeClass's public URL (on host).
    pub badge_class_url: String,
    pub image_url: String,
    pub created_at: DateTime<Utc>,
}

impl BadgeClassView {
    fn from_row(row: &BadgeClassRow, state: &AppState) -> Self {
        Self {
            id: row.id,
            issuer_id: row.issuer_id,
            name: row.name.clone(),
            description: row.description.clone(),
            criteria: row.criteria_narrative.clone(),
            criteria_url: row.criteria_url.clone(),
            tags: row.tags.clone(),
            formats: row.formats.clone(),
            expires_after_days: row.expires_after_days,
            expires_on: row.expires_on,
            alignments: row.alignments.clone(),
            image_content_type: row.image_content_type.clone(),
            language: row.language.clone(),
            translations: row.translations.clone(),
            badge_class_url: state.links.badge_class(row.id),
            image_url: state.links.badge_image(row.id),
            created_at: row.created_at,
        }
    }
}

fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Reads a multipart form into the same shape as the JSON body plus the image bytes.
async fn read_multipart(mut form: Multipart) -> Result<(NewBadgeClass, Option<Vec<u8>>), ApiError> {
    let mut fields = NewBadgeClass::default();
    let mut image = None;
    while let Some(item) = form.next().await {
        let limit = |name: &str| {
            if name == "image" {
                MAX_IMAGE_BYTES + 1
            } else {
                64 * 1024
            }
        };
        let (name, bytes) = read_field_limited(item, limit).await?;
        let text = || {
            String::from_utf8(bytes.clone()).map_err(|_| ApiError::invalid_field(format!("{name}: must be UTF-8 text")))
        };
        match name.as_str() {
            "image" => image = Some(bytes),
            "name" => fields.name = text()?,
            "description" => fields.description = text()?,
            "criteria" => fields.criteria = text()?,
            "criteria_url" => fields.criteria_url = Some(text()?).filter(|s| !s.trim().is_empty()),
            "tags" => fields.tags = comma_list(&text()?),
            "formats" => fields.formats = comma_list(&text()?),
            "language" => fields.language = Some(text()?).filter(|s| !s.trim().is_empty()),
            translated if translated.ends_with("_ja") || translated.ends_with("_en") => {
                let (field, language) = translated.split_at(translated.len() - 3);
                let value = text()?;
                if value.trim().is_empty() {
                    continue;
                }
                let texts = fields.translations.entry(language[1..].to_string()).or_default();
                match field {
                    "name" => texts.name = value,
                    "description" => texts.description = value,
                    "criteria" => texts.criteria = value,
                    _ => {}
                }
            }
            "expires_after_days" => {
                fields.expires_after_days = Some(
                    text()?
                        .trim()
                        .parse()
                        .map_err(|_| ApiError::invalid_field("expires_after_days: a whole number"))?,
                )
            }
            "expires_on" => {
                fields.expires_on = Some(
                    DateTime::parse_from_rfc3339(text()?.trim())
                        .map_err(|_| ApiError::invalid_field("expires_on: an RFC 3339 date-time"))?
                        .with_timezone(&Utc),
                )
            }
            _ => {}
        }
    }
    Ok((fields, image))
}

/// Creates a badge class under an issuer and publishes it (JSON with a
/// base64 image, or multipart with an `image` file).
#[utoipa::path(
    request_body(content = NewBadgeClass, description = "JSON, or multipart/form-data with an `image` file"),
    responses(
        (status = 201, body = BadgeClassView),
        (status = 404, description = "no such issuer (or another tenant's)"),
        (status = 409, description = "this issuer has a badge class with that name"),
        (status = 413, description = "image larger than 512 KiB"),
        (status = 422, description = "a field is invalid, or the image is not PNG/SVG"),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/issuers/{issuer_id}/badge-classes")]
pub async fn create_badge_class(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::BadgesWrite)?;
    let issuer = visible_issuer(&state, &grant, path.into_inner()).await?;
    let content_type = header_str(&req, CONTENT_TYPE);
    let (fields, image_bytes) = if content_type.starts_with("multipart/form-data") {
        read_multipart(Multipart::new(req.headers(), payload)).await?
    } else if content_type.starts_with("application/json") {
        let body = read_body_limited(payload, MAX_IMAGE_BYTES * 2).await?;
        let fields: NewBadgeClass =
            serde_json::from_slice(&body).map_err(|e| ApiError::unprocessable("invalid_json", e.to_string()))?;
        let image = fields
            .image_base64
            .as_deref()
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()))
            .transpose()
            .map_err(|e| ApiError::invalid_field(format!("image_base64: not base64 ({e})")))?;
        (fields, image)
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send application/json or multipart/form-data".into(),
        ));
    };
    let name = Name::parse("name", &fields.name).map_err(ApiError::invalid_field)?;
    let description = LongText::parse("description", &fields.description).map_err(ApiError::invalid_field)?;
    let criteria = LongText::parse("criteria", &fields.criteria).map_err(ApiError::invalid_field)?;
    let criteria_url = fields
        .criteria_url
        .as_deref()
        .map(|u| WebUrl::parse("criteria_url", u))
        .transpose()
        .map_err(ApiError::invalid_field)?;
    let tags = fields
        .tags
        .iter()
        .map(|t| Name::parse("tags", t).map(Name::into_inner))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::invalid_field)?;
    let formats = Formats::parse(&fields.formats).map_err(ApiError::invalid_field)?;
    let alignments = parse_alignments(&fields.alignments)?;
    let language =
        parse_language("language", fields.language.as_deref().unwrap_or("en")).map_err(ApiError::invalid_field)?;
    let translations = Translations::parse(language, &fields.translations).map_err(ApiError::invalid_field)?;
    match (fields.expires_after_days, fields.expires_on) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "expires_after_days and expires_on: give at most one",
            ));
        }
        (Some(d), None) if !(1..=36_500).contains(&d) => {
            return Err(ApiError::invalid_field("expires_after_days: 1 to 36500"));
        }
        (None, Some(t)) if t <= Utc::now() => return Err(ApiError::invalid_field("expires_on: must be in the future")),
        _ => {}
    }
    let image =
        BadgeImage::parse(image_bytes.ok_or_else(|| ApiError::invalid_field("image: a PNG or SVG image is required"))?)
            .map_err(|e| match e {
                crate::domain::badge_image::ImageError::TooLarge => ApiError::PayloadTooLarge(e.to_string()),
                other => ApiError::invalid_field(format!("image: {other}")),
            })?;
    let row = BadgeClassRow {
        id: Uuid::now_v7(),
        issuer_id: issuer.id,
        name: name.into_inner(),
        description: description.into_inner(),
        criteria_narrative: criteria.into_inner(),
        criteria_url: criteria_url.map(|u| u.as_str().to_string()),
        tags,
        image_content_type: image.content_type().to_string(),
        image: image.into_bytes(),
        created_at: Utc::now(),
        formats: formats.names(),
        expires_after_days: fields.expires_after_days,
        expires_on: fields.expires_on,
        alignments,
        language: language.tag().to_string(),
        translations: translations.to_json(),
    };
    let message = published(&row, &state, request_id)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        match diesel::insert_into(badge_classes::table)
            .values(&row)
            .execute(conn)
            .await
        {
            Err(e) if akashi_db::is_unique_violation(&e) => {
                return Err(ApiError::Conflict(format!(
                    "this issuer has a badge class named {:?}",
                    row.name
                )));
            }
            other => other?,
        };
        outbox::enqueue(conn, &message).await.map_err(ApiError::internal)?;
        Ok(())
    })
    .await?;
    state.relay.wake();
    tracing::info!(badge_class_id = %row.id, issuer_id = %row.issuer_id, "badge class created");
    Ok(HttpResponse::Created().json(BadgeClassView::from_row(&row, &state)))
}

/// The `badge_class.published` message of a badge class as it is now:
/// host serves what it carries, the lms-adapter allows it in rules.
fn published(
    row: &BadgeClassRow,
    state: &AppState,
    request_id: RequestId,
) -> Result<Envelope<BadgeClassPublished>, ApiError> {
    let document = serde_json::to_value(documents::badge_class(row, &state.links)).map_err(ApiError::internal)?;
    Ok(Envelope::new(
        crate::SERVICE,
        BadgeClassPublished {
            badge_class_id: row.id,
            issuer_id: row.issuer_id,
            name: row.name.clone(),
            badge_class: document,
            image: ImageBlob {
                content_type: row.image_content_type.clone(),
                data_base64: base64::engine::general_purpose::STANDARD.encode(&row.image),
            },
            language: row.language.clone(),
            editions: documents::badge_class_editions(row, &state.links),
            published_at: Some(Utc::now()),
        },
        Some(request_id.0),
    ))
}

/// Adds or replaces the badge class's name, description and criteria in
/// another language, and republishes it. Credentials already issued keep
/// what they were signed with; pages and certificates show the new texts.
#[utoipa::path(
    request_body = BadgeTexts,
    params(("language" = String, Path, description = "`en` or `ja`, not the badge class's own")),
    responses(
        (status = 200, body = BadgeClassView),
        (status = 404, description = "no such badge class (or another tenant's)"),
        (status = 422, description = "a field is invalid, or the language is the badge class's own or unsupported"),
    ),
    security(("bearer" = [])),
)]
#[put("/admin/badge-classes/{badge_class_id}/translations/{language}")]
pub async fn put_translation(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<(Uuid, String)>,
    body: web::Json<BadgeTexts>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::BadgesWrite)?;
    let (id, tag) = path.into_inner();
    let language = parse_language("language", &tag).map_err(ApiError::invalid_field)?;
    let texts = Translations::parse_texts(language, &body).map_err(ApiError::invalid_field)?;
    change_translations(&state, &grant, request_id, id, |own, translations| {
        if own == language {
            return Err(ApiError::invalid_field(format!(
                "language: the badge class is written in {tag} already"
            )));
        }
        translations.set(language, texts);
        Ok(())
    })
    .await
}

/// Removes the badge class's texts in one language and republishes it.
#[utoipa::path(
    params(("language" = String, Path, description = "`en` or `ja`")),
    responses(
        (status = 200, body = BadgeClassView),
        (status = 404, description = "no such badge class, or no translation in that language"),
    ),
    security(("bearer" = [])),
)]
#[delete("/admin/badge-classes/{badge_class_id}/translations/{language}")]
pub async fn delete_translation(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::BadgesWrite)?;
    let (id, tag) = path.into_inner();
    let language = parse_language("language", &tag).map_err(ApiError::invalid_field)?;
    change_translations(&state, &grant, request_id, id, |_, translations| {
        if translations.remove(language) {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!("the badge class has no {tag} translation")))
        }
    })
    .await
}

/// Loads a badge class the grant may change (locked), applies `change` to
/// its translations, stores and republishes it in one transaction.
async fn change_translations(
    state: &AppState,
    grant: &Grant,
    request_id: RequestId,
    id: Uuid,
    change: impl FnOnce(Language, &mut Translations) -> Result<(), ApiError> + Send,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut row: BadgeClassRow = badge_classes::table
                .find(id)
                .select(BadgeClassRow::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .filter(|row| grant.require_issuer(row.issuer_id).is_ok())
                .ok_or_else(|| ApiError::NotFound("no such badge class".into()))?;
            let own = parse_language("language", &row.language).map_err(ApiError::internal)?;
            let mut translations = Translations::from_json(&row.translations);
            change(own, &mut translations)?;
            row.translations = translations.to_json();
            diesel::update(badge_classes::table.find(id))
                .set(badge_classes::translations.eq(&row.translations))
                .execute(conn)
                .await?;
            outbox::enqueue(conn, &published(&row, state, request_id)?)
                .await
                .map_err(ApiError::internal)?;
            Ok(row)
        })
        .await?;
    state.relay.wake();
    tracing::info!(badge_class_id = %row.id, "badge class translations changed");
    Ok(HttpResponse::Ok().json(BadgeClassView::from_row(&row, state)))
}

/// The badge classes of one issuer.
#[utoipa::path(responses((status = 200, body = [BadgeClassView]), (status = 404)), security(("bearer" = [])))]
#[get("/admin/issuers/{issuer_id}/badge-classes")]
pub async fn list_badge_classes(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::IssuersRead, Scope::BadgesWrite])?;
    let issuer = visible_issuer(&state, &grant, path.into_inner()).await?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<BadgeClassRow> = badge_classes::table
        .filter(badge_classes::issuer_id.eq(issuer.id))
        .select(BadgeClassRow::as_select())
        .order(badge_classes::created_at)
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|r| BadgeClassView::from_row(r, &state))
            .collect::<Vec<_>>(),
    ))
}

/// One badge class.
#[utoipa::path(responses((status = 200, body = BadgeClassView), (status = 404)), security(("bearer" = [])))]
#[get("/admin/badge-classes/{badge_class_id}")]
pub async fn get_badge_class(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::IssuersRead, Scope::BadgesWrite])?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row: BadgeClassRow = badge_classes::table
        .find(path.into_inner())
        .select(BadgeClassRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such badge class".into()))?;
    grant
        .require_issuer(row.issuer_id)
        .map_err(|_| ApiError::NotFound("no such badge class".into()))?;
    Ok(HttpResponse::Ok().json(BadgeClassView::from_row(&row, &state)))
}
