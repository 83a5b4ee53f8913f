//! `POST /verify`: one credential in, one report out.

use std::time::Instant;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_model::EmailAddress;
use akashi_runtime::ApiError;
use akashi_runtime::http::header_str;
use akashi_runtime::http::read_body_limited;
use chrono::Utc;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::checks::ob2_hosted::{self, Findings};
use crate::db::verifications;
use crate::domain::report::{Checks, RecipientMatch, Report, Status};
use crate::startup::AppState;

/// Largest JSON request accepted.
const MAX_REQUEST: usize = 512 * 1024;

/// What to verify: exactly one of `url`, `credential` or `jwt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The credential's URL (an OB 2.0 hosted assertion).
    #[schema(example = "http://127.0.0.1:8082/ob2/assertions/0193…")]
    pub url: Option<String>,
    /// The credential as JSON (an OB 2.0 assertion: its hosted copy at `id` is verified).
    pub credential: Option<Value>,
    /// A compact JWS or VC-JWT.
    pub jwt: Option<String>,
    /// The e-mail address the badge should have been issued to.
    pub recipient: Option<String>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, message)
}

enum Subject {
    HostedUrl(url::Url),
    Unsupported { kind: &'static str, en: String, ja: String },
}

fn parse_url(state: &AppState, raw: &str) -> Result<url::Url, ApiError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid("invalid_url", format!("url: {e}")))?;
    state
        .fetcher
        .policy()
        .check_url(&url)
        .map_err(|e| invalid("url_not_allowed", format!("url: {e}")))?;
    Ok(url)
}

fn subject_of(state: &AppState, request: &VerifyRequest) -> Result<(&'static str, Option<String>, Subject), ApiError> {
    match (&request.url, &request.credential, &request.jwt) {
        (Some(url), None, None) => Ok(("url", Some(url.clone()), Subject::HostedUrl(parse_url(state, url)?))),
        (None, Some(credential), None) => {
            let is_ob2_assertion = credential["type"] == "Assertion"
                || credential["type"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == "Assertion"));
            let hosted = matches!(
                credential["verification"]["type"].as_str(),
                Some("hosted" | "HostedBadge")
            );
            let id = credential["id"].as_str().map(str::to_owned);
            if is_ob2_assertion && hosted {
                let id =
                    id.ok_or_else(|| invalid("invalid_credential", "credential: a hosted assertion needs its id URL"))?;
                Ok((
                    "credential",
                    Some(id.clone()),
                    Subject::HostedUrl(parse_url(state, &id)?),
                ))
            } else {
                Ok((
                    "credential",
                    id,
                    Subject::Unsupported {
                        kind: "credential",
                        en: "Only OB 2.0 hosted assertions are verified by this version; signed OB 2.0, OB 3.0 and Blockcerts are not yet.".into(),
                        ja: "このバージョンが検証できるのはホスト型 OB 2.0 のアサーションのみです（署名付き OB 2.0・OB 3.0・Blockcerts は未対応）。".into(),
                    },
                ))
            }
        }
        (None, None, Some(_)) => Ok((
            "jwt",
            None,
            Subject::Unsupported {
                kind: "jwt",
                en: "Compact JWS and VC-JWT verification is not available in this version.".into(),
                ja: "このバージョンでは JWS・VC-JWT の検証はできません。".into(),
            },
        )),
        _ => Err(invalid("invalid_request", "give exactly one of url, credential or jwt")),
    }
}

/// Verifies one credential and answers the report. HTTP 200 whatever the
/// verdict (the verdict is in `status`); 4xx only for a request that cannot be
/// understood.
#[utoipa::path(
    request_body = VerifyRequest,
    responses(
        (status = 200, body = Report, description = "the report; see `status` for the verdict"),
        (status = 413, description = "request larger than 512 KiB"),
        (status = 415, description = "not JSON (baked image upload is not available in this version)"),
        (status = 422, description = "not exactly one of url/credential/jwt, a malformed URL or recipient, or a URL the address policy refuses"),
    ),
)]
#[post("/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let content_type = header_str(&req, CONTENT_TYPE);
    if content_type.starts_with("multipart/") {
        return Err(ApiError::UnsupportedMediaType(
            "baked image upload is not available in this version; send the badge URL as {\"url\": …}".into(),
        ));
    }
    if !content_type.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(
            "send Content-Type: application/json".into(),
        ));
    }
    let body = read_body_limited(payload, MAX_REQUEST).await?;
    let request: VerifyRequest = serde_json::from_slice(&body).map_err(|e| invalid("invalid_json", e.to_string()))?;
    let recipient = request
        .recipient
        .as_deref()
        .map(EmailAddress::parse)
        .transpose()
        .map_err(|e| invalid("invalid_recipient", format!("recipient: {e}")))?;
    let (input_kind, subject_text, subject) = subject_of(&state, &request)?;
    let mut checks = Checks::default();
    let (format, findings) = match subject {
        Subject::HostedUrl(url) => {
            let r = ob2_hosted::Request {
                url,
                expected_recipient: recipient.as_ref(),
                trusted_issuers: &state.trusted_issuers,
            };
            (
                Some("ob2-hosted".to_string()),
                ob2_hosted::verify(&state.fetcher, &r, &mut checks).await,
            )
        }
        Subject::Unsupported { kind, en, ja } => {
            checks.fail("format", Status::Unknown, en, ja);
            tracing::info!(kind, "unsupported format asked");
            (None, Findings::default())
        }
    };
    let report = Report {
        id: Uuid::now_v7(),
        status: checks.verdict(),
        format,
        credential_id: findings.credential_id,
        issuer: findings.issuer,
        badge: findings.badge,
        recipient: findings.recipient.unwrap_or(RecipientMatch {
            checked: recipient.is_some(),
            matched: None,
        }),
        issued_on: findings.issued_on,
        expires: findings.expires,
        checks: checks.0,
        verified_at: Utc::now(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    metrics::counter!("akashi_verifications_total", "status" => report.status.as_str()).increment(1);
    record(&state, &report, input_kind, subject_text).await;
    Ok(HttpResponse::Ok().json(report))
}

/// Writes the audit row; a failure is logged, never shown to the caller.
async fn record(state: &AppState, report: &Report, input_kind: &str, subject: Option<String>) {
    use diesel::ExpressionMethods;
    let result = async {
        let mut conn = akashi_db::conn(&state.pool).await?;
        diesel::insert_into(verifications::table)
            .values((
                verifications::id.eq(report.id),
                verifications::input_kind.eq(input_kind),
                verifications::subject.eq(subject),
                verifications::status.eq(report.status.as_str()),
                verifications::format.eq(report.format.clone()),
                verifications::elapsed_ms.eq(report.elapsed_ms as i64),
            ))
            .execute(&mut conn)
            .await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not record the verification");
    }
}
