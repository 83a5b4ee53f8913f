//! How an issuer's badge pages and certificates look, as its admin set it
//! (`issuer.published`): the time zone of its dates, its logo and the
//! signatory of its certificates. Until it is set: UTC, and neither.

use base64::Engine;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::issuer_presentations;

/// An image as uploaded (PNG or SVG).
#[derive(Debug, Clone)]
pub struct StoredImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The person who signs the issuer's certificates.
#[derive(Debug, Clone)]
pub struct Signatory {
    pub name: String,
    pub title: Option<String>,
    pub signature: Option<StoredImage>,
}

/// An issuer's presentation.
#[derive(Debug, Clone)]
pub struct Presentation {
    pub time_zone: chrono_tz::Tz,
    pub logo: Option<StoredImage>,
    pub signatory: Option<Signatory>,
}

impl Default for Presentation {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::UTC,
            logo: None,
            signatory: None,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = issuer_presentations)]
struct PresentationRow {
    time_zone: String,
    logo: Option<Vec<u8>>,
    logo_content_type: Option<String>,
    signatory_name: Option<String>,
    signatory_title: Option<String>,
    signature: Option<Vec<u8>>,
    signature_content_type: Option<String>,
}

fn stored(bytes: Option<Vec<u8>>, content_type: Option<String>) -> Option<StoredImage> {
    Some(StoredImage {
        bytes: bytes?,
        content_type: content_type?,
    })
}

impl Presentation {
    /// The issuer's presentation, or the default for an issuer display has
    /// none of (or an award from before display knew its issuer).
    pub async fn of(conn: &mut AsyncPgConnection, issuer_id: Option<Uuid>) -> Result<Self, diesel::result::Error> {
        let Some(issuer_id) = issuer_id else {
            return Ok(Self::default());
        };
        let row: Option<PresentationRow> = issuer_presentations::table
            .find(issuer_id)
            .select(PresentationRow::as_select())
            .first(conn)
            .await
            .optional()?;
        Ok(row.map(Self::from_row).unwrap_or_default())
    }

    fn from_row(row: PresentationRow) -> Self {
        Self {
            // The issuer checked the name; one unknown to this build's
            // zone table (a newer tzdata) falls back to UTC.
            time_zone: row.time_zone.parse().unwrap_or(chrono_tz::UTC),
            logo: stored(row.logo, row.logo_content_type),
            signatory: row.signatory_name.map(|name| Signatory {
                name,
                title: row.signatory_title,
                signature: stored(row.signature, row.signature_content_type),
            }),
        }
    }
}

/// Stores what `issuer.published` says of an issuer's presentation.
pub async fn store(
    conn: &mut AsyncPgConnection,
    issuer_id: Uuid,
    presentation: &akashi_model::messages::IssuerPresentation,
) -> Result<(), diesel::result::Error> {
    let decode = |blob: Option<&akashi_model::messages::ImageBlob>| {
        blob.and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(&b.data_base64)
                .ok()
                .map(|bytes| (bytes, b.content_type.clone()))
        })
    };
    let logo = decode(presentation.logo.as_ref());
    let signatory = presentation.signatory.as_ref();
    let signature = decode(signatory.and_then(|s| s.signature.as_ref()));
    let values = (
        issuer_presentations::issuer_id.eq(issuer_id),
        issuer_presentations::time_zone.eq(&presentation.time_zone),
        issuer_presentations::logo.eq(logo.as_ref().map(|l| l.0.clone())),
        issuer_presentations::logo_content_type.eq(logo.as_ref().map(|l| l.1.clone())),
        issuer_presentations::signatory_name.eq(signatory.map(|s| s.name.clone())),
        issuer_presentations::signatory_title.eq(signatory.and_then(|s| s.title.clone())),
        issuer_presentations::signature.eq(signature.as_ref().map(|s| s.0.clone())),
        issuer_presentations::signature_content_type.eq(signature.as_ref().map(|s| s.1.clone())),
        issuer_presentations::updated_at.eq(presentation.updated_at),
    );
    // Two changes may be handled out of order: the newest stays.
    let upsert = diesel::insert_into(issuer_presentations::table)
        .values(values.clone())
        .on_conflict(issuer_presentations::issuer_id)
        .do_update()
        .set(values);
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        issuer_presentations::updated_at.le(diesel::upsert::excluded(issuer_presentations::updated_at)),
    )
    .execute(conn)
    .await?;
    Ok(())
}
