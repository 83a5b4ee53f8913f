//! Awards: the fixed lookup `GET /admin/awards?recipient=<email>` and revocation.

use actix_web::{HttpResponse, get, post, web};
use akashi_bus::{Envelope, outbox};
use akashi_model::EmailAddress;
use akashi_model::messages::{AwardMailRequested, BadgeRevoked};
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::AwardRow;
use crate::db::schema::{award_credentials, awards, badge_classes, issuers};
use crate::domain::fields::LongText;
use crate::domain::formats;
use crate::startup::AppState;
use crate::subscriptions::{
    self,
    events::{Event, EventType},
};

/// A reference to a named thing.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: Uuid,
    pub name: String,
}

/// One award as operators' scripts see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardView {
    pub award_id: Uuid,
    pub recipient: String,
    /// `active`, `revoked` or `expired`.
    #[schema(example = "active")]
    pub status: String,
    pub issued_on: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub badge_class: NamedRef,
    pub issuer: NamedRef,
    /// Public URL per format issued, keyed by format (`ob2_hosted`, …);
    /// `blockcerts` appears once the certificate's batch is anchored.
    pub formats: BTreeMap<String, String>,
    /// The human page on display.
    pub badge_page: String,
    /// Where to verify (POST a format's URL as `{"url": …}`).
    pub verify: String,
    /// The award this one corrected and replaced, if it is a re-issue.
    pub supersedes: Option<Uuid>,
}

/// The answer of the lookup.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardList {
    /// The recipient asked about (none for a badge class's awards).
    pub recipient: Option<String>,
    pub awards: Vec<AwardView>,
    /// Where the next page starts (`?offset=`), when this page was full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<i64>,
}

/// Lookup parameters: a recipient (the fixed lookup) and/or a badge class.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AwardQuery {
    /// The recipient's e-mail address (case-insensitive).
    pub recipient: Option<String>,
    /// Only (or, without a recipient, all) awards of this badge class.
    pub badge_class_id: Option<Uuid>,
    /// `active`, `revoked` or `expired`.
    pub status: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000;
    /// a recipient's awards are all listed unless a limit is given).
    /// Without a recipient or badge class: the most recent awards.
    pub limit: Option<i64>,
    /// Skip this many (paging; with `limit`).
    pub offset: Option<i64>,
}

fn status_of(row: &AwardRow, now: DateTime<Utc>) -> &'static str {
    if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

fn view(row: AwardRow, badge_name: String, issuer_name: String, signed: &[String], state: &AppState) -> AwardView {
    let urls = state.links.award(row.id);
    let mut formats = BTreeMap::new();
    formats.insert(formats::OB2_HOSTED.to_string(), urls.ob2_assertion.clone());
    for format in signed {
        let url = match format.as_str() {
            formats::OB2_SIGNED => state.links.ob2_signed(row.id),
            formats::OB3_VCJWT | formats::OB3_DI => state.links.ob3_credential(row.id),
            formats::BLOCKCERTS => state.links.blockcerts_certificate(row.id),
            _ => continue,
        };
        formats.insert(format.clone(), url);
    }
    AwardView {
        award_id: row.id,
        status: status_of(&row, Utc::now()).into(),
        recipient: row.recipient_email,
        issued_on: row.issued_on,
        expires: row.expires_at,
        revoked_at: row.revoked_at,
        revocation_reason: row.revocation_reason,
        badge_class: NamedRef {
            id: row.badge_class_id,
            name: badge_name,
        },
        issuer: NamedRef {
            id: row.issuer_id,
            name: issuer_name,
        },
        formats,
        badge_page: urls.badge_page,
        verify: urls.verify,
        supersedes: row.origin["supersedes"].as_str().and_then(|s| s.parse().ok()),
    }
}

/// The awards made to one person (or of one badge class), newest first,
/// each with its badge class, status and the public URL of every format it
/// was issued in.
#[utoipa::path(
    params(AwardQuery),
    responses((status = 200, body = AwardList), (status = 422, description = "recipient is not an e-mail address, or an offset out of range")),
    security(("bearer" = [])),
)]
#[get("/admin/awards")]
pub async fn lookup_awards(
    state: web::Data<AppState>,
    grant: Grant,
    query: web::Query<AwardQuery>,
) -> Result<HttpResponse, ApiError> {
    grant.require_any(&[Scope::AwardsRead, Scope::AwardsWrite])?;
    let recipient = query
        .recipient
        .as_deref()
        .map(EmailAddress::parse)
        .transpose()
        .map_err(|e| ApiError::unprocessable("invalid_recipient", format!("recipient: {e}")))?;
    let offset = query.offset.unwrap_or(0);
    if !(0..=1_000_000).contains(&offset) {
        return Err(ApiError::invalid_field("offset: 0 to 1000000"));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut q = awards::table
        .inner_join(badge_classes::table)
        .inner_join(issuers::table.on(issuers::id.eq(awards::issuer_id)))
        .select((AwardRow::as_select(), badge_classes::name, issuers::name))
        .order(awards::issued_on.desc())
        .into_boxed();
    if let Some(r) = &recipient {
        q = q.filter(awards::recipient_email.eq(r.as_str()));
    }
    if let Some(b) = query.badge_class_id {
        q = q.filter(awards::badge_class_id.eq(b));
    }
    match query.status.as_deref() {
        None => {}
        Some("revoked") => q = q.filter(awards::revoked_at.is_not_null()),
        Some("expired") => q = q.filter(awards::revoked_at.is_null().and(awards::expires_at.le(Utc::now()))),
        Some("active") => {
            q = q.filter(
                awards::revoked_at
                    .is_null()
                    .and(awards::expires_at.is_null().or(awards::expires_at.gt(Utc::now()))),
            )
        }
        Some(other) => return Err(ApiError::invalid_field(format!("status: unknown {other:?}"))),
    }
    let limit = (recipient.is_none() || query.limit.is_some()).then(|| query.limit.unwrap_or(100).clamp(1, 1000));
    if let Some(limit) = limit {
        q = q.limit(limit).offset(offset);
    }
    if let Some(own) = grant.issuer_id {
        q = q.filter(awards::issuer_id.eq(own));
    }
    let rows: Vec<(AwardRow, String, String)> = q.load(&mut conn).await?;
    let next_offset = limit.filter(|l| rows.len() as i64 == *l).map(|l| offset + l);
    let ids: Vec<Uuid> = rows.iter().map(|(r, _, _)| r.id).collect();
    let signed = signed_formats(&mut conn, &ids).await?;
    let awards = rows
        .into_iter()
        .map(|(row, b, i)| {
            let formats = signed.get(&row.id).cloned().unwrap_or_default();
            view(row, b, i, &formats, &state)
        })
        .collect();
    Ok(HttpResponse::Ok().json(AwardList {
        recipient: recipient.map(|r| r.to_string()),
        awards,
        next_offset,
    }))
}

/// Revokes an award within the caller's transaction (idempotent): marks it,
/// announces `badge.revoked`, and sets its OB 3.0 status bit. Answers the
/// award with its badge class and issuer names.
pub(crate) async fn revoke_in(
    conn: &mut diesel_async::AsyncPgConnection,
    state: &AppState,
    grant: &Grant,
    award_id: Uuid,
    reason: &str,
    correlation: &str,
) -> Result<(AwardRow, String, String), ApiError> {
    let found: Option<(AwardRow, String, String)> = awards::table
        .inner_join(badge_classes::table)
        .inner_join(issuers::table.on(issuers::id.eq(awards::issuer_id)))
        .filter(awards::id.eq(award_id))
        .select((AwardRow::as_select(), badge_classes::name, issuers::name))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (mut row, b, i) = found.ok_or_else(|| ApiError::NotFound("no such award".into()))?;
    grant
        .require_issuer(row.issuer_id)
        .map_err(|_| ApiError::NotFound("no such award".into()))?;
    if row.revoked_at.is_some() {
        return Ok((row, b, i)); // already revoked: nothing to announce again
    }
    let now = Utc::now();
    diesel::update(awards::table.find(award_id))
        .set((awards::revoked_at.eq(now), awards::revocation_reason.eq(reason)))
        .execute(conn)
        .await?;
    row.revoked_at = Some(now);
    row.revocation_reason = Some(reason.to_string());
    let message = Envelope::new(
        crate::SERVICE,
        BadgeRevoked {
            award_id,
            issuer_id: row.issuer_id,
            reason: reason.to_string(),
            revoked_at: now,
            urls: state.links.award(award_id),
        },
        Some(correlation.to_string()),
    );
    outbox::enqueue(conn, &message).await.map_err(ApiError::internal)?;
    let event = Event::about_award(
        EventType::BadgeRevoked,
        &row,
        (&i, &b),
        state.links.award(award_id),
        &state.links,
        serde_json::json!({"revocation": {"reason": reason, "revoked_at": now}}),
    );
    subscriptions::events::record(conn, message.id, &event).await?;
    // The OB 3.0 form says it too: its bit in the issuer's status list.
    crate::status::revoke(
        conn,
        award_id,
        &state.keyring,
        &state.links,
        Some(correlation.to_string()),
    )
    .await
    .map_err(ApiError::internal)?;
    Ok((row, b, i))
}

/// One award as the admin API shows it.
pub async fn award_view(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    award_id: Uuid,
) -> Result<Option<AwardView>, ApiError> {
    let found: Option<(AwardRow, String, String)> = awards::table
        .inner_join(badge_classes::table)
        .inner_join(issuers::table.on(issuers::id.eq(awards::issuer_id)))
        .filter(awards::id.eq(award_id))
        .select((AwardRow::as_select(), badge_classes::name, issuers::name))
        .first(conn)
        .await
        .optional()?;
    let Some((row, badge_name, issuer_name)) = found else {
        return Ok(None);
    };
    let signed = signed_formats(conn, &[award_id])
        .await?
        .remove(&award_id)
        .unwrap_or_default();
    Ok(Some(view(row, badge_name, issuer_name, &signed, state)))
}

/// The signed formats of each award, by award id.
async fn signed_formats(
    conn: &mut diesel_async::AsyncPgConnection,
    ids: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<String>>, ApiError> {
    let rows: Vec<(Uuid, String)> = award_credentials::table
        .filter(award_credentials::award_id.eq_any(ids))
        .select((award_credentials::award_id, award_credentials::format))
        .load(conn)
        .await?;
    let mut by_award: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for (id, format) in rows {
        by_award.entry(id).or_default().push(format);
    }
    Ok(by_award)
}

/// Why an award is revoked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    #[schema(example = "Issued in error")]
    pub reason: String,
}

/// Revokes an award with a reason (idempotent) and announces `badge.revoked`.
#[utoipa::path(
    request_body = RevokeRequest,
    responses((status = 200, body = AwardView), (status = 404), (status = 422)),
    security(("bearer" = [])),
)]
#[post("/admin/awards/{award_id}/revoke")]
pub async fn revoke_award(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let reason = LongText::parse("reason", &body.reason)
        .map_err(|e| ApiError::invalid_field(e.to_string()))?
        .into_inner();
    let award_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let correlation = request_id.0;
    let (row, badge_name, issuer_name) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            revoke_in(conn, &state, &grant, award_id, &reason, &correlation).await
        })
        .await?;
    state.relay.wake();
    state.webhooks_wake.notify_one();
    tracing::info!(%award_id, "award revoked");
    let signed = signed_formats(&mut conn, &[award_id])
        .await?
        .remove(&award_id)
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(view(row, badge_name, issuer_name, &signed, &state)))
}

/// Sends the award's e-mail to its recipient again (display mails it; the
/// award must be active). 202: queued.
#[utoipa::path(responses((status = 202), (status = 404), (status = 409, description = "revoked")), security(("bearer" = [])))]
#[post("/admin/awards/{award_id}/resend-mail")]
pub async fn resend_mail(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let award_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let found: Option<(Uuid, Option<DateTime<Utc>>)> = awards::table
        .find(award_id)
        .select((awards::issuer_id, awards::revoked_at))
        .first(&mut conn)
        .await
        .optional()?;
    let not_found = || ApiError::NotFound("no such award".into());
    let (issuer_id, revoked_at) = found.ok_or_else(not_found)?;
    grant.require_issuer(issuer_id).map_err(|_| not_found())?;
    if revoked_at.is_some() {
        return Err(ApiError::Conflict(
            "the award is revoked; its revocation was mailed".into(),
        ));
    }
    let message = Envelope::new(crate::SERVICE, AwardMailRequested { award_id }, Some(request_id.0));
    outbox::enqueue(&mut conn, &message).await.map_err(ApiError::internal)?;
    state.relay.wake();
    tracing::info!(%award_id, "award e-mail requested again");
    Ok(HttpResponse::Accepted().json(serde_json::json!({"award_id": award_id, "status": "queued"})))
}
