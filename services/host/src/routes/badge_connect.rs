//! Badge Connect (Open Badges 2.1): the manifest at
//! `/.well-known/badgeconnect.json` and `/ims/ob/v2p1/{assertions,profile}`,
//! on the same OAuth 2.0 server as the OB 3.0 API. This is how Moodle (3.9
//! and later) exports an earner's badges to an external backpack: it posts
//! `{"assertion": …}`, which Akashi verifies — issued to this earner, valid
//! — before keeping it, as any import.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use akashi_runtime::ApiError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::import::{Imported, Input, verify_and_store};
use super::ob3_api::{V2P1_SCOPES, bearer};
use crate::db::schema::{earner_credentials, earners, hosted_assertions, revocations};
use crate::startup::AppState;

fn status(code: u16, text: &str, error: Option<&str>) -> Value {
    json!({"error": error, "statusCode": code, "statusText": text})
}

/// The Badge Connect manifest.
#[utoipa::path(responses((status = 200, description = "the Badge Connect manifest")))]
#[get("/.well-known/badgeconnect.json")]
pub async fn manifest(state: web::Data<AppState>) -> HttpResponse {
    let base = &state.public_base;
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(json!({
            "@context": "https://w3id.org/openbadges/badgeconnect/v1",
            "id": format!("{base}/.well-known/badgeconnect.json"),
            "badgeConnectAPI": [{
                "name": "Akashi",
                "image": format!("{}/favicon.svg", state.display_base),
                "apiBase": format!("{base}/ims/ob/v2p1"),
                "version": "v1p0",
                "termsOfServiceUrl": format!("{base}/terms"),
                "privacyPolicyUrl": format!("{base}/privacy"),
                "scopesOffered": V2P1_SCOPES,
                "registrationUrl": format!("{base}/ims/ob/v3p0/register"),
                "authorizationUrl": format!("{base}/ims/ob/v3p0/authorize"),
                "tokenUrl": format!("{base}/ims/ob/v3p0/token"),
            }],
        }))
}

/// Paging.
#[derive(Debug, serde::Deserialize)]
pub struct Paging {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The earner's OB 2.0 assertions: those Akashi issued them (not revoked)
/// and those imported with their JSON.
#[utoipa::path(
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, description = "`{status, results: [...]}` with X-Total-Count"), (status = 401), (status = 403)),
)]
#[get("/ims/ob/v2p1/assertions")]
pub async fn get_assertions(
    state: web::Data<AppState>,
    req: HttpRequest,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, V2P1_SCOPES[0]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let limit = paging.limit.unwrap_or(50).clamp(1, 500);
    let offset = paging.offset.unwrap_or(0).max(0);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let issued: Vec<Value> = hosted_assertions::table
        .left_join(revocations::table.on(revocations::assertion_id.eq(hosted_assertions::id)))
        .filter(
            hosted_assertions::recipient_email
                .eq(&earner.email)
                .and(revocations::assertion_id.is_null()),
        )
        .order((hosted_assertions::issued_on, hosted_assertions::id))
        .select(hosted_assertions::document)
        .load(&mut conn)
        .await?;
    let imported: Vec<Option<Value>> = earner_credentials::table
        .filter(
            earner_credentials::earner_id
                .eq(earner.id)
                .and(earner_credentials::format.like("ob2%")),
        )
        .order(earner_credentials::created_at)
        .select(earner_credentials::credential)
        .load(&mut conn)
        .await?;
    let all: Vec<Value> = issued.into_iter().chain(imported.into_iter().flatten()).collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset as usize).take(limit as usize).collect();
    let mut links = Vec::new();
    if (offset + limit) < total as i64 {
        links.push(format!(
            "<{}/ims/ob/v2p1/assertions?limit={limit}&offset={}>; rel=\"next\"",
            state.public_base,
            offset + limit
        ));
    }
    let mut response = HttpResponse::Ok();
    response.insert_header(("X-Total-Count", total.to_string()));
    if !links.is_empty() {
        response.insert_header(("Link", links.join(", ")));
    }
    // `results` as the specification names it; `assertions` too, which is
    // what Moodle's backpack page reads.
    Ok(response.json(json!({"status": status(200, "OK", None), "results": page, "assertions": page})))
}

/// Adds an assertion to the backpack (`{"assertion": …}` as Moodle sends
/// it, or `{"id": <hosted URL>}`), once the verifier finds it valid and
/// issued to this earner.
#[utoipa::path(
    request_body(content = String, content_type = "application/json", description = "{\"assertion\": <OB 2.0 assertion or its URL>}"),
    responses((status = 200, description = "stored"), (status = 400, description = "not valid, or not this earner's: status.error says why"), (status = 401), (status = 403)),
)]
#[post("/ims/ob/v2p1/assertions")]
pub async fn post_assertion(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, V2P1_SCOPES[1]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let assertion = body.get("assertion").cloned().unwrap_or_else(|| body.clone());
    // A hosted assertion is checked where it is hosted; anything else as sent.
    let input = match (
        &assertion,
        assertion.pointer("/verification/type").and_then(Value::as_str),
    ) {
        (Value::String(url), _) => Input::Json(json!({"url": url})),
        (Value::Object(_), Some("hosted" | "HostedBadge")) => match assertion.get("id").and_then(Value::as_str) {
            Some(url) => Input::Json(json!({"url": url})),
            None => Input::Json(json!({"credential": assertion})),
        },
        _ => Input::Json(json!({"credential": assertion})),
    };
    Ok(
        match verify_and_store(
            &state,
            &earner,
            &input,
            assertion.is_object().then(|| assertion.clone()),
        )
        .await?
        {
            Imported::Stored { answer, .. } => {
                HttpResponse::Ok().json(json!({"status": status(200, "OK", None), "result": answer}))
            }
            Imported::Refused(_) => HttpResponse::BadRequest().json(json!({
                "status": status(400, "Bad Request", Some("the assertion did not verify as issued to this earner")),
            })),
        },
    )
}

/// The earner's profile.
#[utoipa::path(responses((status = 200), (status = 401), (status = 403)))]
#[get("/ims/ob/v2p1/profile")]
pub async fn get_profile(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, V2P1_SCOPES[2]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let mut profile = json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Profile",
        "id": format!("{}/earners/{}", state.public_base, earner.profile_slug),
        "email": earner.email,
    });
    if let Some(n) = &earner.display_name {
        profile["name"] = json!(n);
    }
    Ok(HttpResponse::Ok().json(json!({"status": status(200, "OK", None), "results": [profile]})))
}

/// Updates the earner's name.
#[utoipa::path(responses((status = 200), (status = 400), (status = 401), (status = 403)))]
#[post("/ims/ob/v2p1/profile")]
pub async fn post_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, V2P1_SCOPES[3]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 200)
    else {
        return Ok(HttpResponse::BadRequest()
            .json(json!({"status": status(400, "Bad Request", Some("name: 1-200 characters"))})));
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::update(earners::table.find(earner.id))
        .set(earners::display_name.eq(name))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": status(200, "OK", None)})))
}
