//! Importing a badge from elsewhere into the backpack: a URL, a credential
//! (OB 2.0 JSON, OB 3.0 JSON, Blockcerts JSON), a JWS or VC-JWT, or a baked
//! PNG/SVG. Akashi's verifier checks it first, as a third party would, and
//! that it was issued to the signed-in earner's address; only then is it
//! stored. A refusal carries the verifier's report, so the earner sees why.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_runtime::ApiError;
use akashi_runtime::http::{read_body_limited, read_field_limited};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::schema::earner_credentials;
use crate::earner::{self, Earner};
use crate::startup::AppState;

const MAX_IMPORT: usize = 2 * 1024 * 1024;

/// What was sent, as the verifier takes it.
pub enum Input {
    Json(Value),
    Image(Vec<u8>, String),
}

fn refused(code: &str, message: &str, report: Option<Value>) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(json!({
        "error": {"code": code, "message": message},
        "report": report,
    }))
}

/// Imports a badge (session cookie). JSON `{"url"}`, `{"credential"}` or
/// `{"jwt"}`, or a multipart upload with the baked image as `image`.
#[utoipa::path(
    request_body(content = String, description = "JSON {url | credential | jwt}, or multipart/form-data with `image`"),
    responses(
        (status = 201, description = "verified and stored"),
        (status = 200, description = "already in the backpack; refreshed"),
        (status = 401, description = "not signed in"),
        (status = 422, description = "not valid, or not issued to this earner: `report` says why"),
        (status = 503, description = "the verifier could not be reached"),
    ),
)]
#[post("/backpack/api/import")]
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, &req).await?;
    drop(conn);
    let content_type = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let input = if content_type.starts_with("multipart/form-data") {
        use futures_util::StreamExt;
        let mut form = Multipart::new(req.headers(), payload);
        let mut image = None;
        while let Some(field) = form.next().await {
            let (name, bytes) = read_field_limited(field, |_| MAX_IMPORT).await?;
            if name == "image" || name == "file" {
                let kind = if bytes.starts_with(b"\x89PNG") {
                    "image/png"
                } else {
                    "image/svg+xml"
                };
                image = Some(Input::Image(bytes, kind.to_string()));
            }
        }
        image.ok_or_else(|| ApiError::invalid_field("image: the baked badge file"))?
    } else {
        let body = read_body_limited(payload, MAX_IMPORT).await?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::unprocessable("invalid_json", e.to_string()))?;
        let kinds = ["url", "credential", "jwt"]
            .iter()
            .filter(|k| value.get(**k).is_some())
            .count();
        if kinds != 1 || !value.is_object() {
            return Err(ApiError::invalid_field("send exactly one of url, credential, jwt"));
        }
        Input::Json(value)
    };
    Ok(match verify_and_store(&state, &earner, &input, None).await? {
        Imported::Refused(response) => response,
        Imported::Stored { existed, answer } => {
            if existed {
                HttpResponse::Ok().json(answer)
            } else {
                HttpResponse::Created().json(answer)
            }
        }
    })
}

/// The outcome of an import.
pub enum Imported {
    /// Not stored: the 422 answer, with the verifier's report.
    Refused(HttpResponse),
    /// Stored (or refreshed, when `existed`).
    Stored { existed: bool, answer: Value },
}

/// Verifies `input` as issued to `earner` and stores it in their backpack.
/// `keep` is the document to keep when it is not what was verified (an
/// assertion posted whole but verified at its hosted URL).
pub async fn verify_and_store(
    state: &AppState,
    earner: &Earner,
    input: &Input,
    keep: Option<Value>,
) -> Result<Imported, ApiError> {
    // The verifier, as a third party, with the earner's address to match.
    let mut request = state.http.post(format!("{}/verify", state.verifier_base));
    if let Some(key) = &state.verifier_api_key {
        request = request.bearer_auth(key.expose_secret());
    }
    let request = match &input {
        Input::Json(v) => {
            let mut body = v.clone();
            body["recipient"] = json!(earner.email);
            request.json(&body)
        }
        Input::Image(bytes, kind) => {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name("badge")
                .mime_str(kind)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            request.multipart(
                reqwest::multipart::Form::new()
                    .part("image", part)
                    .text("recipient", earner.email.clone()),
            )
        }
    };
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the verifier: {e}")))?;
    let status = response.status();
    let report: Value = response
        .json()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the verifier's answer: {e}")))?;
    if !status.is_success() {
        return Ok(Imported::Refused(refused(
            "import_unreadable",
            "the verifier could not read this badge",
            Some(report),
        )));
    }
    // The verifier counts a recipient mismatch as invalid; say which it is.
    let recipient_failed = report["checks"].as_array().is_some_and(|checks| {
        checks
            .iter()
            .any(|c| c["id"] == "recipient" && c["outcome"] == "failed")
    });
    if recipient_failed {
        return Ok(Imported::Refused(refused(
            "import_not_yours",
            "the badge was not issued to the address you signed in with",
            Some(report),
        )));
    }
    if report["status"] != "valid" {
        let verdict = report["status"].as_str().unwrap_or("unknown").to_string();
        return Ok(Imported::Refused(refused(
            "import_not_valid",
            &format!("the badge did not verify: {verdict}"),
            Some(report),
        )));
    }
    if report["recipient"]["matched"] != true {
        return Ok(Imported::Refused(refused(
            "import_not_yours",
            "the badge could not be matched to the address you signed in with",
            Some(report),
        )));
    }
    let format = report["format"].as_str().unwrap_or("unknown").to_string();
    let (credential, compact_jws, source_url) = match &input {
        Input::Json(v) => (
            v.get("credential").cloned(),
            v.get("jwt").and_then(Value::as_str).map(str::to_owned),
            v.get("url").and_then(Value::as_str).map(str::to_owned),
        ),
        Input::Image(..) => (None, None, None),
    };
    let credential = keep.or(credential);
    let credential_id = report["credential_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| source_url.clone())
        .ok_or_else(|| ApiError::unprocessable("import_unreadable", "the badge has no id"))?;
    let summary = json!({
        "name": report["badge"]["name"],
        "image": report["badge"]["image"],
        "issuer": report["issuer"]["name"],
        "issued_on": report["issued_on"],
        "expires": report["expires"],
    });
    let mut conn = akashi_db::conn(&state.pool).await?;
    let existed: i64 = earner_credentials::table
        .filter(
            earner_credentials::earner_id
                .eq(earner.id)
                .and(earner_credentials::credential_id.eq(&credential_id)),
        )
        .count()
        .get_result(&mut conn)
        .await?;
    diesel::insert_into(earner_credentials::table)
        .values((
            earner_credentials::id.eq(Uuid::now_v7()),
            earner_credentials::earner_id.eq(earner.id),
            earner_credentials::credential_id.eq(&credential_id),
            earner_credentials::format.eq(&format),
            earner_credentials::credential.eq(&credential),
            earner_credentials::compact_jws.eq(&compact_jws),
            earner_credentials::source_url.eq(&source_url),
            earner_credentials::summary.eq(&summary),
            earner_credentials::verified_at.eq(diesel::dsl::now),
        ))
        .on_conflict((earner_credentials::earner_id, earner_credentials::credential_id))
        .do_update()
        .set((
            earner_credentials::format.eq(&format),
            earner_credentials::credential.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>(
                    "COALESCE(excluded.credential, earner_credentials.credential)",
                ),
            ),
            earner_credentials::summary.eq(&summary),
            earner_credentials::verified_at.eq(diesel::dsl::now),
            earner_credentials::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    metrics::counter!("host_imports_total", "format" => format.clone()).increment(1);
    Ok(Imported::Stored {
        existed: existed > 0,
        answer: json!({"credential_id": credential_id, "format": format, "summary": summary}),
    })
}
