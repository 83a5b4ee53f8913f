//! Awards made by an admin rather than by an LMS rule: one at a time (with
//! narrative and evidence) or in bulk from a CSV file. Both go through the
//! same `issue.requested` path as LMS awards, so they get the same
//! exactly-once treatment, and both are idempotent by a client key.

use std::time::{Duration, Instant};

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_bus::{Envelope, outbox};
use akashi_model::EmailAddress;
use akashi_model::messages::{AwardOrigin, EvidenceItem, IssueRequested, Recipient};
use akashi_runtime::http::{RequestId, header_str, read_body_limited};
use akashi_runtime::{ApiError, Grant, Scope};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::AwardRow;
use crate::db::models::BadgeClassRow;
use crate::db::schema::{awards, badge_classes};
use crate::domain::fields::{BoundedText, LongText, Name, WebUrl};
use crate::routes::awards::{AwardView, award_view, revoke_in};
use crate::startup::AppState;

/// Largest CSV accepted, and most rows in one file.
const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;
const MAX_CSV_ROWS: usize = 10_000;
/// How long a single award request waits for the award before answering 202.
const WAIT_FOR_ISSUE: Duration = Duration::from_secs(5);

/// The recipient of an admin award.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRecipient {
    pub email: String,
    pub name: Option<String>,
}

/// One piece of evidence.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewEvidence {
    pub url: Option<String>,
    pub narrative: Option<String>,
}

/// An award made by an admin.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAward {
    pub badge_class_id: Uuid,
    pub recipient: NewRecipient,
    /// Why this person earned it (Markdown allowed).
    pub narrative: Option<String>,
    #[serde(default)]
    pub evidence: Vec<NewEvidence>,
    /// Makes a retried request harmless. Without one, a badge class is
    /// awarded by an admin at most once per recipient.
    pub client_key: Option<String>,
}

/// The answer to an admin award.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardRequested {
    /// `issued` (201), `existing` (200: this key was awarded before) or
    /// `queued` (202: accepted, not issued within 5 s; see the lookup).
    pub status: &'static str,
    pub idempotency_key: String,
    pub award: Option<AwardView>,
}

/// The checked content of one award request.
#[derive(Debug)]
struct Request {
    recipient: Recipient,
    narrative: Option<String>,
    evidence: Vec<EvidenceItem>,
    client_key: Option<String>,
}

fn invalid(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn parse_request(
    email: &str,
    name: Option<&str>,
    narrative: Option<&str>,
    evidence: Vec<(Option<String>, Option<String>)>,
    client_key: Option<&str>,
) -> Result<Request, String> {
    let email = EmailAddress::parse(email).map_err(|e| format!("email: {e}"))?;
    let nonempty = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let name = nonempty(name)
        .map(|n| Name::parse("name", &n).map(Name::into_inner))
        .transpose()
        .map_err(invalid)?;
    let narrative = nonempty(narrative)
        .map(|n| LongText::parse("narrative", &n).map(LongText::into_inner))
        .transpose()
        .map_err(invalid)?;
    let mut items = Vec::new();
    for (url, text) in evidence {
        let url = nonempty(url.as_deref())
            .map(|u| WebUrl::parse("evidence url", &u).map(|u| u.as_str().to_string()))
            .transpose()
            .map_err(invalid)?;
        let text = nonempty(text.as_deref())
            .map(|n| LongText::parse("evidence narrative", &n).map(LongText::into_inner))
            .transpose()
            .map_err(invalid)?;
        if url.is_some() || text.is_some() {
            items.push(EvidenceItem { url, narrative: text });
        }
    }
    let client_key = nonempty(client_key)
        .map(|k| BoundedText::<200, false>::parse("client_key", &k).map(BoundedText::into_inner))
        .transpose()
        .map_err(invalid)?;
    Ok(Request {
        recipient: Recipient {
            email,
            name,
            lms_user_id: None,
        },
        narrative,
        evidence: items,
        client_key,
    })
}

/// The idempotency key of an admin award: the client's key within the
/// tenant, else one award of this badge class per recipient.
fn idempotency_key(badge: &BadgeClassRow, request: &Request) -> String {
    match &request.client_key {
        Some(key) => format!("admin:{}:key:{key}", badge.issuer_id),
        None => format!(
            "admin:{}:badge:{}:learner:{}",
            badge.issuer_id, badge.id, request.recipient.email
        ),
    }
}

async fn visible_badge_class(state: &AppState, grant: &Grant, id: Uuid) -> Result<BadgeClassRow, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let badge: BadgeClassRow = badge_classes::table
        .find(id)
        .select(BadgeClassRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such badge class".into()))?;
    grant
        .require_issuer(badge.issuer_id)
        .map_err(|_| ApiError::NotFound("no such badge class".into()))?;
    Ok(badge)
}

async fn award_with_key(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<Uuid>> {
    awards::table
        .filter(awards::idempotency_key.eq(key))
        .select(awards::id)
        .first(conn)
        .await
        .optional()
}

/// Puts one `issue.requested` in the outbox (within the caller's transaction).
async fn enqueue(
    conn: &mut AsyncPgConnection,
    badge: &BadgeClassRow,
    request: Request,
    key: &str,
    correlation: &str,
    supersedes: Option<Uuid>,
) -> Result<(), outbox::OutboxError> {
    let kind = if supersedes.is_some() { "reissue" } else { "admin" };
    let message = IssueRequested {
        idempotency_key: key.to_string(),
        issuer_id: badge.issuer_id,
        badge_class_id: badge.id,
        recipient: request.recipient,
        origin: AwardOrigin {
            kind: kind.into(),
            source: None,
            event_id: None,
            rule_id: None,
            course_id: None,
            supersedes,
        },
        completed_at: None,
        narrative: request.narrative,
        evidence: request.evidence,
        expires: None,
    };
    outbox::enqueue(
        conn,
        &Envelope::new(crate::SERVICE, message, Some(correlation.to_string())),
    )
    .await
}

/// Awards a badge to one person, with narrative and evidence.
#[utoipa::path(
    request_body = NewAward,
    responses(
        (status = 201, body = AwardRequested, description = "issued"),
        (status = 200, body = AwardRequested, description = "this key was awarded before"),
        (status = 202, body = AwardRequested, description = "queued; not issued within 5 s"),
        (status = 404, description = "no such badge class (or another tenant's)"),
        (status = 422),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/awards")]
pub async fn create_award(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    body: web::Json<NewAward>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let badge = visible_badge_class(&state, &grant, body.badge_class_id).await?;
    let evidence = body
        .evidence
        .iter()
        .map(|e| (e.url.clone(), e.narrative.clone()))
        .collect();
    let request = parse_request(
        &body.recipient.email,
        body.recipient.name.as_deref(),
        body.narrative.as_deref(),
        evidence,
        body.client_key.as_deref(),
    )
    .map_err(ApiError::invalid_field)?;
    let key = idempotency_key(&badge, &request);
    let mut conn = akashi_db::conn(&state.pool).await?;
    if let Some(id) = award_with_key(&mut conn, &key).await? {
        let award = award_view(&state, &mut conn, id).await?;
        return Ok(HttpResponse::Ok().json(AwardRequested {
            status: "existing",
            idempotency_key: key,
            award,
        }));
    }
    conn.transaction::<_, ApiError, _>(async |conn| {
        enqueue(conn, &badge, request, &key, &request_id.0, None)
            .await
            .map_err(ApiError::internal)
    })
    .await?;
    state.relay.wake();
    if let Some(award) = wait_for_award(&state, &mut conn, &key).await? {
        return Ok(HttpResponse::Created().json(AwardRequested {
            status: "issued",
            idempotency_key: key,
            award: Some(award),
        }));
    }
    Ok(HttpResponse::Accepted().json(AwardRequested {
        status: "queued",
        idempotency_key: key,
        award: None,
    }))
}

/// Waits (up to 5 s) for the consumer to make the award of `key`.
async fn wait_for_award(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    key: &str,
) -> Result<Option<AwardView>, ApiError> {
    // The award is made by the consumer, usually within milliseconds.
    let deadline = Instant::now() + WAIT_FOR_ISSUE;
    while Instant::now() < deadline {
        if let Some(id) = award_with_key(conn, key).await? {
            return award_view(state, conn, id).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(None)
}

/// Corrections for a re-issue; what is not given is copied from the original.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Reissue {
    /// Why the original is replaced (recorded on its revocation).
    pub reason: String,
    pub recipient_name: Option<String>,
    pub narrative: Option<String>,
    pub evidence: Option<Vec<NewEvidence>>,
}

/// Issues a corrected credential that supersedes an award: the original is
/// revoked ("superseded") and a new award, marked as its successor, is
/// issued through `issue.requested` in the same transaction. Idempotent:
/// an award is re-issued at most once (re-issue the successor to correct again).
#[utoipa::path(
    request_body = Reissue,
    responses(
        (status = 201, body = AwardRequested, description = "the corrected award"),
        (status = 200, body = AwardRequested, description = "already re-issued"),
        (status = 202, body = AwardRequested, description = "queued"),
        (status = 404), (status = 409, description = "the award was revoked: it cannot be re-issued"), (status = 422),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/awards/{award_id}/reissue")]
pub async fn reissue_award(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Json<Reissue>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let original_id = path.into_inner();
    let reason = LongText::parse("reason", &body.reason)
        .map_err(|e| ApiError::invalid_field(e.to_string()))?
        .into_inner();
    let key = format!("reissue:{original_id}");
    let mut conn = akashi_db::conn(&state.pool).await?;
    if let Some(id) = award_with_key(&mut conn, &key).await? {
        let award = award_view(&state, &mut conn, id).await?;
        return Ok(HttpResponse::Ok().json(AwardRequested {
            status: "existing",
            idempotency_key: key,
            award,
        }));
    }
    let original: AwardRow = awards::table
        .find(original_id)
        .select(AwardRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such award".into()))?;
    grant
        .require_issuer(original.issuer_id)
        .map_err(|_| ApiError::NotFound("no such award".into()))?;
    if original.revoked_at.is_some() {
        return Err(ApiError::Conflict(
            "this award was revoked; a revoked award cannot be re-issued".into(),
        ));
    }
    let badge = visible_badge_class(&state, &grant, original.badge_class_id).await?;
    // Corrections over what the original said.
    let old = &original.ob2_assertion;
    let evidence: Vec<(Option<String>, Option<String>)> = match &body.evidence {
        Some(items) => items.iter().map(|e| (e.url.clone(), e.narrative.clone())).collect(),
        None => old["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["id"].as_str().map(str::to_owned),
                    e["narrative"].as_str().map(str::to_owned),
                )
            })
            .collect(),
    };
    let request = parse_request(
        &original.recipient_email,
        body.recipient_name.as_deref().or(original.recipient_name.as_deref()),
        body.narrative.as_deref().or(old["narrative"].as_str()),
        evidence,
        None,
    )
    .map_err(ApiError::invalid_field)?;
    let correlation = request_id.0;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let why = format!("Superseded by a corrected credential: {reason}");
        revoke_in(conn, &state, &grant, original_id, &why, &correlation).await?;
        enqueue(conn, &badge, request, &key, &correlation, Some(original_id))
            .await
            .map_err(ApiError::internal)
    })
    .await?;
    state.relay.wake();
    state.webhooks_wake.notify_one();
    tracing::info!(%original_id, "award re-issued");
    match wait_for_award(&state, &mut conn, &key).await? {
        Some(award) => Ok(HttpResponse::Created().json(AwardRequested {
            status: "issued",
            idempotency_key: key,
            award: Some(award),
        })),
        None => Ok(HttpResponse::Accepted().json(AwardRequested {
            status: "queued",
            idempotency_key: key,
            award: None,
        })),
    }
}

/// The result of one CSV row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowResult {
    /// Line number in the file (the header is line 1).
    pub row: usize,
    pub email: Option<String>,
    /// `queued`, `existing` (awarded before under this key), `duplicate` (the
    /// same key earlier in this file) or `invalid`.
    pub status: &'static str,
    pub idempotency_key: Option<String>,
    pub error: Option<String>,
}

/// The answer to a bulk award.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub badge_class_id: Uuid,
    pub queued: usize,
    pub existing: usize,
    pub duplicate: usize,
    pub invalid: usize,
    pub rows: Vec<RowResult>,
}

/// Awards a badge to everyone in a CSV file (`text/csv`), one row each, with
/// its own narrative and evidence. Columns (header row required, any order):
/// `email` (required), `name`, `narrative`, `evidence_url`,
/// `evidence_narrative`, `client_key`. Valid rows are queued together;
/// invalid rows are reported and change nothing.
#[utoipa::path(
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, body = BulkResult),
        (status = 404, description = "no such badge class"),
        (status = 413, description = "over 5 MiB"),
        (status = 415, description = "not text/csv"),
        (status = 422, description = "no header, no email column, or over 10,000 rows"),
    ),
    security(("bearer" = [])),
)]
#[post("/admin/badge-classes/{badge_class_id}/awards/bulk")]
pub async fn bulk_award(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::AwardsWrite)?;
    let badge = visible_badge_class(&state, &grant, path.into_inner()).await?;
    let content_type = header_str(&req, CONTENT_TYPE);
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType(
            "send the file as Content-Type: text/csv".into(),
        ));
    }
    let body = read_body_limited(payload, MAX_CSV_BYTES).await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::unprocessable("invalid_csv", format!("header row: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let email_col =
        column("email").ok_or_else(|| ApiError::unprocessable("invalid_csv", "the header has no email column"))?;
    let (name_col, narrative_col, url_col, text_col, key_col) = (
        column("name"),
        column("narrative"),
        column("evidence_url"),
        column("evidence_narrative"),
        column("client_key"),
    );
    let mut rows = Vec::new();
    let mut to_queue: Vec<(usize, Request, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut conn = akashi_db::conn(&state.pool).await?;
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if index >= MAX_CSV_ROWS {
            return Err(ApiError::unprocessable(
                "invalid_csv",
                format!("more than {MAX_CSV_ROWS} rows"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push(RowResult {
                    row: line,
                    email: None,
                    status: "invalid",
                    idempotency_key: None,
                    error: Some(e.to_string()),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).filter(|v| !v.is_empty());
        let email = get(Some(email_col)).map(str::to_owned);
        let parsed = parse_request(
            email.as_deref().unwrap_or(""),
            get(name_col),
            get(narrative_col),
            vec![(get(url_col).map(str::to_owned), get(text_col).map(str::to_owned))],
            get(key_col),
        );
        let request = match parsed {
            Ok(r) => r,
            Err(e) => {
                rows.push(RowResult {
                    row: line,
                    email,
                    status: "invalid",
                    idempotency_key: None,
                    error: Some(e),
                });
                continue;
            }
        };
        let key = idempotency_key(&badge, &request);
        let status = if !seen.insert(key.clone()) {
            "duplicate"
        } else if award_with_key(&mut conn, &key).await?.is_some() {
            "existing"
        } else {
            "queued"
        };
        rows.push(RowResult {
            row: line,
            email: Some(request.recipient.email.to_string()),
            status,
            idempotency_key: Some(key.clone()),
            error: None,
        });
        if status == "queued" {
            to_queue.push((line, request, key));
        }
    }
    let queued = to_queue.len();
    conn.transaction::<_, ApiError, _>(async |conn| {
        for (_, request, key) in to_queue {
            enqueue(conn, &badge, request, &key, &request_id.0, None)
                .await
                .map_err(ApiError::internal)?;
        }
        Ok(())
    })
    .await?;
    state.relay.wake();
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    tracing::info!(badge_class_id = %badge.id, queued, rows = rows.len(), "bulk award");
    Ok(HttpResponse::Ok().json(BulkResult {
        badge_class_id: badge.id,
        queued,
        existing: count("existing"),
        duplicate: count("duplicate"),
        invalid: count("invalid"),
        rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_and_checked() {
        let r = parse_request(
            " A@B.jp ",
            Some("Aki"),
            Some("Great work"),
            vec![(Some("https://x.jp/p".into()), None)],
            None,
        )
        .unwrap();
        assert_eq!(r.recipient.email.as_str(), "a@b.jp");
        assert_eq!(r.evidence.len(), 1);
        assert!(
            parse_request("nope", None, None, vec![], None)
                .unwrap_err()
                .starts_with("email:")
        );
        assert!(parse_request("a@b.jp", None, None, vec![(Some("javascript:x".into()), None)], None).is_err());
        let empty = parse_request("a@b.jp", Some(""), Some("  "), vec![(None, Some("".into()))], Some("")).unwrap();
        assert!(empty.recipient.name.is_none() && empty.narrative.is_none() && empty.evidence.is_empty());
        assert!(empty.client_key.is_none());
    }
}
