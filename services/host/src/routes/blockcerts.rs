//! Blockcerts v3: certificates, the issuer profile (with the anchoring
//! accounts) and the revocation list, as the reference verifier fetches them.

use actix_web::{HttpRequest, HttpResponse, get, web};
use akashi_runtime::ApiError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::ob2::{ASSERTION_MAX_AGE, ProfileKind, STATIC_MAX_AGE, hosted_profile, not_found, plain_json};
use crate::db::schema::{hosted_blockcerts, revocations};
use crate::startup::AppState;

/// An anchored Blockcerts certificate with its `merkle-proof-2019` proof.
/// 404 until its batch is anchored (seconds after the award on mocknet).
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/blockcerts/{id}")]
pub async fn certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let certificate: serde_json::Value = hosted_blockcerts::table
        .find(path.into_inner())
        .select(hosted_blockcerts::certificate)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("Blockcerts certificate"))?;
    // Immutable once anchored: revocation is told by the revocation list.
    plain_json(&req, &certificate, STATIC_MAX_AGE)
}

/// The Blockcerts issuer profile: anchoring accounts in `publicKey` with the
/// dates they were valid, their JWKs in `verificationMethod`, and the
/// revocation list.
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/blockcerts/issuers/{id}")]
pub async fn issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let profile = hosted_profile(&mut conn, path.into_inner(), ProfileKind::Blockcerts).await?;
    plain_json(&req, &profile, STATIC_MAX_AGE)
}

/// The revocation list query: the reference verifier asks about one certificate.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct RevocationQuery {
    /// A certificate id (its URL): only its entry, if revoked, is listed.
    pub assertion_id: Option<String>,
}

/// The issuer's Blockcerts revocation list (`revokedAssertions`), whole or
/// for the certificate named by `assertionId`.
#[utoipa::path(params(RevocationQuery), responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/blockcerts/revocations/{issuer_id}")]
pub async fn revocation_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<RevocationQuery>,
) -> Result<HttpResponse, ApiError> {
    let issuer_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let profile = hosted_profile(&mut conn, issuer_id, ProfileKind::Blockcerts).await?;
    let issuer_url = profile["id"].as_str().unwrap_or_default();
    let host_base = issuer_url.split("/blockcerts/issuers/").next().unwrap_or_default();
    let certificate_url = |id: Uuid| format!("{host_base}/blockcerts/{id}");
    let mut revoked = revocations::table
        .filter(revocations::issuer_id.eq(issuer_id))
        .select((revocations::assertion_id, revocations::reason))
        .order(revocations::revoked_at)
        .into_boxed();
    if let Some(asked) = &query.assertion_id {
        // Only a URL of this host names one of ours; anything else has no entry.
        let award = asked
            .strip_prefix(&format!("{host_base}/blockcerts/"))
            .and_then(|id| Uuid::parse_str(id).ok());
        match award {
            Some(award) => revoked = revoked.filter(revocations::assertion_id.eq(award)),
            None => revoked = revoked.filter(revocations::assertion_id.is_null()),
        }
    }
    let revoked: Vec<(Uuid, String)> = revoked.load(&mut conn).await?;
    let doc = json!({
        "@context": "https://w3id.org/openbadges/v2",
        "id": format!("{host_base}/blockcerts/revocations/{issuer_id}"),
        "type": "RevocationList",
        "issuer": issuer_url,
        "revokedAssertions": revoked
            .into_iter()
            .map(|(id, reason)| json!({"id": certificate_url(id), "revocationReason": reason}))
            .collect::<Vec<_>>(),
    });
    plain_json(&req, &doc, ASSERTION_MAX_AGE)
}
