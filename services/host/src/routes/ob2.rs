//! OB 2.0 hosted documents (`application/ld+json`), with CORS, ETags and
//! cache headers. Assertions are cached briefly, so that a revocation is seen
//! within a minute by caches that honour `max-age`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use akashi_model::ob2::{CONTEXT_V2, RevocationList, RevokedAssertion};
use akashi_runtime::ApiError;
use akashi_runtime::http::header_str;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::schema::{
    hosted_assertions, hosted_badge_classes, hosted_issuers, hosted_keys, hosted_status_lists, revocations,
};
use crate::startup::AppState;

pub(crate) const ASSERTION_MAX_AGE: u32 = 60;
pub(crate) const STATIC_MAX_AGE: u32 = 300;

/// What the client asked for in `Accept`.
#[derive(Debug, PartialEq, Eq)]
enum Wants {
    Html,
    LdJson,
    Json,
}

fn negotiate(req: &HttpRequest) -> Wants {
    let accept = header_str(req, header::ACCEPT);
    let pos = |needle: &str| accept.find(needle);
    let html = pos("text/html");
    let json = [pos("application/ld+json"), pos("application/json")]
        .into_iter()
        .flatten()
        .min();
    match (html, json) {
        (Some(h), Some(j)) if h < j => Wants::Html,
        (Some(_), None) => Wants::Html,
        _ if pos("application/ld+json").is_none() && pos("application/json").is_some() => Wants::Json,
        _ => Wants::LdJson,
    }
}

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!(
        "\"{}\"",
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A cacheable response with CORS, an ETag, and 304 for a matching `If-None-Match`.
fn cacheable(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    content_type: &str,
    body: Vec<u8>,
    max_age: u32,
) -> HttpResponse {
    let etag = etag_of(&body);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut builder = if matches && status.is_success() {
        HttpResponse::NotModified()
    } else {
        HttpResponse::build(status)
    };
    builder
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::VARY, "Accept"));
    if matches && status.is_success() {
        builder.finish()
    } else {
        builder.content_type(content_type).body(body)
    }
}

fn json_ld(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    doc: &serde_json::Value,
    max_age: u32,
) -> HttpResponse {
    let content_type = if negotiate(req) == Wants::Json {
        "application/json"
    } else {
        "application/ld+json"
    };
    let body = serde_json::to_vec(doc).unwrap_or_default();
    cacheable(req, status, content_type, body, max_age)
}

pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!("no such {what}"))
}

/// The profiles an issuer has besides its OB 2.0 one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProfileKind {
    /// The OB 3.0 Profile and key controller document.
    Ob3,
    /// The Blockcerts issuer profile.
    Blockcerts,
}

/// An issuer's hosted profile of `kind`; 404 if the issuer, or that
/// profile, is not hosted.
pub(crate) async fn hosted_profile(
    conn: &mut diesel_async::AsyncPgConnection,
    issuer_id: Uuid,
    kind: ProfileKind,
) -> Result<serde_json::Value, ApiError> {
    let query = hosted_issuers::table.find(issuer_id);
    let profile: Option<Option<serde_json::Value>> = match kind {
        ProfileKind::Ob3 => query.select(hosted_issuers::ob3_profile).first(conn).await,
        ProfileKind::Blockcerts => query.select(hosted_issuers::blockcerts_profile).first(conn).await,
    }
    .optional()?;
    profile.flatten().ok_or_else(|| not_found("issuer"))
}

/// The hosted OB 2.0 Assertion. 410 Gone when revoked (with `revoked: true`
/// and the reason); an HTML request is redirected to the badge page.
#[utoipa::path(responses(
    (status = 200, description = "the Assertion", content_type = "application/ld+json"),
    (status = 303, description = "HTML requested: see the badge page on display"),
    (status = 404), (status = 410, description = "revoked"),
))]
#[get("/ob2/assertions/{id}")]
pub async fn assertion(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if negotiate(&req) == Wants::Html {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{}/badges/{id}", state.display_base)))
            .finish());
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let revoked: Option<String> = revocations::table
        .find(id)
        .select(revocations::reason)
        .first(&mut conn)
        .await
        .optional()?;
    let document: Option<serde_json::Value> = hosted_assertions::table
        .find(id)
        .select(hosted_assertions::document)
        .first(&mut conn)
        .await
        .optional()?;
    match (document, revoked) {
        (Some(doc), Some(reason)) => {
            let body = json!({
                "@context": CONTEXT_V2, "type": "Assertion", "id": doc["id"],
                "revoked": true, "revocationReason": reason,
            });
            Ok(json_ld(
                &req,
                actix_web::http::StatusCode::GONE,
                &body,
                ASSERTION_MAX_AGE,
            ))
        }
        (Some(doc), None) => Ok(json_ld(&req, actix_web::http::StatusCode::OK, &doc, ASSERTION_MAX_AGE)),
        (None, _) => Err(not_found("assertion")),
    }
}

/// Which edition of a badge class to serve.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct EditionQuery {
    /// A language the badge class has a translation in (`en`, `ja`): that
    /// edition, whose `id` is this URL. Otherwise the badge class as
    /// written, whose `id` has no query — the reader sees which it got.
    pub lang: Option<String>,
}

/// The hosted OB 2.0 BadgeClass, or its edition in another language.
#[utoipa::path(params(EditionQuery), responses((status = 200, content_type = "application/ld+json"), (status = 404)))]
#[get("/ob2/badges/{id}")]
pub async fn badge_class(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<EditionQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let (doc, editions): (serde_json::Value, serde_json::Value) = hosted_badge_classes::table
        .find(path.into_inner())
        .select((hosted_badge_classes::document, hosted_badge_classes::editions))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("badge class"))?;
    let edition = query
        .lang
        .as_deref()
        .map(|l| l.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase())
        .and_then(|l| editions.get(&l).cloned());
    Ok(json_ld(
        &req,
        actix_web::http::StatusCode::OK,
        edition.as_ref().unwrap_or(&doc),
        STATIC_MAX_AGE,
    ))
}

/// The badge class image (PNG or SVG), as uploaded.
#[utoipa::path(responses((status = 200, content_type = "image/png"), (status = 404)))]
#[get("/ob2/badges/{id}/image")]
pub async fn badge_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let (bytes, content_type): (Vec<u8>, String) = hosted_badge_classes::table
        .find(path.into_inner())
        .select((hosted_badge_classes::image, hosted_badge_classes::image_content_type))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("badge image"))?;
    let mut response = cacheable(
        &req,
        actix_web::http::StatusCode::OK,
        &content_type,
        bytes,
        STATIC_MAX_AGE,
    );
    // An SVG opened directly must not run anything.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// The hosted OB 2.0 issuer Profile.
#[utoipa::path(responses((status = 200, content_type = "application/ld+json"), (status = 404)))]
#[get("/ob2/issuers/{id}")]
pub async fn issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let doc: serde_json::Value = hosted_issuers::table
        .find(path.into_inner())
        .select(hosted_issuers::profile)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("issuer"))?;
    Ok(json_ld(&req, actix_web::http::StatusCode::OK, &doc, STATIC_MAX_AGE))
}

/// The OB 3.0 issuer Profile: also the controller document of the issuer's
/// keys (Multikey for Data Integrity proofs, JsonWebKey for VC-JWTs).
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/ob3/issuers/{id}")]
pub async fn ob3_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let doc = hosted_profile(&mut conn, path.into_inner(), ProfileKind::Ob3).await?;
    plain_json(&req, &doc, STATIC_MAX_AGE)
}

/// The issuer's 1EdTech revocation list (OB 3.0 `1EdTechRevocationList`):
/// the ids of its revoked OB 3.0 credentials, with reasons.
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/ob3/revocations/{issuer_id}")]
pub async fn ob3_revocation_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let issuer_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let profile = hosted_profile(&mut conn, issuer_id, ProfileKind::Ob3).await?;
    let revoked: Vec<(Uuid, String, chrono::DateTime<chrono::Utc>)> = revocations::table
        .filter(revocations::issuer_id.eq(issuer_id))
        .select((revocations::assertion_id, revocations::reason, revocations::revoked_at))
        .order(revocations::revoked_at)
        .load(&mut conn)
        .await?;
    let issuer_url = profile["id"].as_str().unwrap_or_default();
    let host_base = issuer_url.split("/ob3/issuers/").next().unwrap_or_default();
    let doc = serde_json::json!({
        "id": format!("{host_base}/ob3/revocations/{issuer_id}"),
        "issuer": issuer_url,
        "revokedCredentials": revoked
            .into_iter()
            .map(|(id, reason, at)| serde_json::json!({
                "id": format!("{host_base}/ob3/credentials/{id}"),
                "revocationReason": reason,
                "revokedAt": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }))
            .collect::<Vec<_>>(),
    });
    plain_json(&req, &doc, ASSERTION_MAX_AGE)
}

/// The issuer's OB 2.0 RevocationList.
#[utoipa::path(responses((status = 200, content_type = "application/ld+json"), (status = 404)))]
#[get("/ob2/revocations/{issuer_id}")]
pub async fn revocation_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let issuer_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let profile: serde_json::Value = hosted_issuers::table
        .find(issuer_id)
        .select(hosted_issuers::profile)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("issuer"))?;
    let revoked: Vec<(Uuid, String)> = revocations::table
        .filter(revocations::issuer_id.eq(issuer_id))
        .select((revocations::assertion_id, revocations::reason))
        .order(revocations::revoked_at)
        .load(&mut conn)
        .await?;
    let base = req.connection_info();
    let self_url = format!("{}://{}{}", base.scheme(), base.host(), req.path());
    let host_base = profile["id"]
        .as_str()
        .and_then(|id| id.split("/ob2/issuers/").next())
        .unwrap_or("")
        .to_string();
    let list = RevocationList {
        context: CONTEXT_V2.into(),
        kind: "RevocationList".into(),
        id: profile["revocationList"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or(self_url),
        issuer: profile["id"].as_str().unwrap_or_default().to_string(),
        revoked_assertions: revoked
            .into_iter()
            // Each award is listed under both its ids: the hosted URL and the
            // `urn:uuid:` of its signed form.
            .flat_map(|(id, reason)| {
                let hosted = format!("{host_base}/ob2/assertions/{id}");
                let signed = akashi_model::ob2::signed_assertion_id(&hosted);
                [hosted, signed].map(|id| RevokedAssertion {
                    id,
                    revocation_reason: Some(reason.clone()),
                })
            })
            .collect(),
    };
    let doc = serde_json::to_value(list).map_err(ApiError::internal)?;
    Ok(json_ld(&req, actix_web::http::StatusCode::OK, &doc, ASSERTION_MAX_AGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn wants(accept: &str) -> Wants {
        negotiate(
            &TestRequest::default()
                .insert_header((header::ACCEPT, accept))
                .to_http_request(),
        )
    }

    #[test]
    fn negotiation_prefers_what_comes_first() {
        assert_eq!(wants("text/html,application/xhtml+xml,*/*;q=0.8"), Wants::Html);
        assert_eq!(wants("application/ld+json, application/json, text/html"), Wants::LdJson);
        assert_eq!(wants("application/json"), Wants::Json);
        assert_eq!(wants("*/*"), Wants::LdJson);
        assert_eq!(wants(""), Wants::LdJson);
    }

    #[test]
    fn etags_change_with_the_body() {
        assert_eq!(etag_of(b"a"), etag_of(b"a"));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}

/// A credential as JSON, or as its VC-JWT for `Accept: application/jwt`
/// (406 when it was issued without one). Short-cached: these carry
/// revocation status, or are it.
fn json_or_jwt(
    req: &HttpRequest,
    credential: &serde_json::Value,
    jwt: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let accept = header_str(req, header::ACCEPT);
    // Whichever the client lists first wins (as for OB 2.0 documents).
    let first = |types: &[&str]| types.iter().filter_map(|t| accept.find(t)).min();
    let jwt_at = first(&["application/jwt", "application/vc+jwt"]);
    let json_at = first(&["application/json", "application/ld+json"]);
    if jwt_at.is_some_and(|j| json_at.is_none_or(|k| j < k)) {
        let jwt = jwt.ok_or_else(|| {
            ApiError::NotAcceptable("this credential was issued without a VC-JWT; ask for application/json".into())
        })?;
        return Ok(cacheable(
            req,
            actix_web::http::StatusCode::OK,
            "application/jwt",
            jwt.into_bytes(),
            ASSERTION_MAX_AGE,
        ));
    }
    plain_json(req, credential, ASSERTION_MAX_AGE)
}

/// A 200 `application/json` document (OB 3.0 documents are plain JSON, not
/// `application/ld+json` as OB 2.0's), with caching headers.
pub(crate) fn plain_json(req: &HttpRequest, doc: &serde_json::Value, max_age: u32) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_vec(doc).map_err(ApiError::internal)?;
    Ok(cacheable(
        req,
        actix_web::http::StatusCode::OK,
        "application/json",
        body,
        max_age,
    ))
}

/// The signed OB 2.0 assertion as its compact JWS (`application/jose`).
#[utoipa::path(responses((status = 200, content_type = "application/jose"), (status = 404)))]
#[get("/ob2/signed/{id}")]
pub async fn signed_assertion(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let jws: Option<String> = hosted_assertions::table
        .find(path.into_inner())
        .select(hosted_assertions::ob2_signed_jws)
        .first(&mut conn)
        .await
        .optional()?
        .flatten();
    let jws = jws.ok_or_else(|| not_found("signed assertion"))?;
    // Revocation of a signed badge is told by the issuer's revocation list,
    // so the JWS itself stays available (and short-lived in caches).
    Ok(cacheable(
        &req,
        actix_web::http::StatusCode::OK,
        "application/jose",
        jws.into_bytes(),
        ASSERTION_MAX_AGE,
    ))
}

/// The OB 3.0 OpenBadgeCredential: JSON, or its VC-JWT for `Accept: application/jwt`.
#[utoipa::path(responses(
    (status = 200, description = "the credential", content_type = "application/json"),
    (status = 404),
))]
#[get("/ob3/credentials/{id}")]
pub async fn ob3_credential(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row: Option<(Option<serde_json::Value>, Option<String>)> = hosted_assertions::table
        .find(path.into_inner())
        .select((hosted_assertions::ob3_credential, hosted_assertions::ob3_jwt))
        .first(&mut conn)
        .await
        .optional()?;
    let (Some(credential), jwt) = row.unwrap_or((None, None)) else {
        return Err(not_found("OB 3.0 credential"));
    };
    json_or_jwt(&req, &credential, jwt)
}

/// An issuer's OB 2.0 CryptographicKey (signed badges name it as `creator`).
#[utoipa::path(responses((status = 200, content_type = "application/ld+json"), (status = 404)))]
#[get("/ob2/keys/{id}")]
pub async fn key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let doc: serde_json::Value = hosted_keys::table
        .find(path.into_inner())
        .select(hosted_keys::document)
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("key"))?;
    Ok(json_ld(&req, actix_web::http::StatusCode::OK, &doc, STATIC_MAX_AGE))
}

/// An issuer's Bitstring Status List credential (OB 3.0 revocation): JSON,
/// or its VC-JWT for `Accept: application/jwt`.
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/ob3/status/{issuer_id}/{list_no}")]
pub async fn status_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, i32)>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let (credential, jwt): (serde_json::Value, String) = hosted_status_lists::table
        .find(path.into_inner())
        .select((hosted_status_lists::credential, hosted_status_lists::jwt))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| not_found("status list"))?;
    json_or_jwt(&req, &credential, Some(jwt))
}
