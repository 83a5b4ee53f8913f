//! `POST /verify`: one credential in, one report out.

use std::time::Instant;

use actix_multipart::Multipart;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_model::EmailAddress;
use akashi_runtime::ApiError;
use akashi_runtime::http::read_body_limited;
use akashi_runtime::http::{header_str, read_field_limited};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::AuditEntry;
use crate::checks::ob2_hosted::{self, Findings};
use crate::checks::{blockcerts, ob2_signed, ob3_di, ob3_vcjwt};
use crate::clients::Caller;
use crate::domain::baked::{self, BakedError};
use crate::domain::fetch::Fetched;
use crate::domain::report::{Checks, RecipientMatch, Report, Status};
use crate::startup::AppState;

/// Largest JSON request accepted.
const MAX_REQUEST: usize = 512 * 1024;

/// The longest one pass of a verification may take, fetches included
/// (each fetch also has its own timeout). Past it the caller gets a 503
/// `verification_timeout` and the worker is free again.
const VERIFICATION_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// What to verify: exactly one of `url`, `credential` or `jwt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The credential's URL (an OB 2.0 hosted assertion).
    #[schema(example = "http://127.0.0.1:8082/ob2/assertions/0193…")]
    pub url: Option<String>,
    /// The credential as JSON: an OB 2.0 assertion (its hosted copy at `id` is
    /// verified), an OB 3.0 credential with a Data Integrity proof, or a
    /// Blockcerts v3 certificate.
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
    /// A compact JWS or VC-JWT; its payload decides the procedure.
    Token(String),
    /// A JSON credential carrying a Data Integrity proof.
    DataIntegrity(Value),
    /// A Blockcerts v3 certificate, and the URL it was fetched from (if it was).
    Blockcerts(Value, Option<url::Url>),
    Unsupported {
        kind: &'static str,
        en: String,
        ja: String,
    },
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

fn looks_like_compact_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The VC-JWT an OB 3.0 credential's `id` serves, if any.
async fn vc_jwt_at(state: &AppState, url: &url::Url) -> Option<String> {
    let fetched = state.fetcher.get(url, "application/jwt").await.ok()?;
    let text = String::from_utf8_lossy(&fetched.body).trim().to_string();
    (fetched.status == 200 && looks_like_compact_jws(&text)).then_some(text)
}

fn no_proof() -> Subject {
    Subject::Unsupported {
        kind: "credential",
        en: "This credential carries no proof Akashi can check (OB 2.0 hosted or signed, OB 3.0 VC-JWT or Data Integrity, Blockcerts v3).".into(),
        ja: "Akashi が検証できる証明がありません。".into(),
    }
}

/// What a credential's link answers, as a client of the verifier asks for it.
const CREDENTIAL_ACCEPT: &str = "application/ld+json, application/json, application/jose, application/jwt";

/// One look at what a URL serves decides the procedure: a compact JWS, an
/// OB 3.0 credential (whose VC-JWT is then asked for), or a hosted assertion.
/// A page for people (HTML) that names its credential with
/// `<link rel="alternate" type="application/ld+json" href="…">` — the link a
/// learner shares — is followed once to that credential. The procedure
/// runs on where the document was found, after redirects. Anything else
/// (errors included) goes to the hosted procedure, which reports exactly
/// what is wrong.
async fn subject_at(state: &AppState, url: url::Url) -> Subject {
    let Ok(mut fetched) = state.fetcher.get(&url, CREDENTIAL_ACCEPT).await else {
        return Subject::HostedUrl(url);
    };
    let mut url = fetched.redirected_to.clone().unwrap_or(url);
    if fetched.status == 200
        && let Some(alternate) = alternate_credential(&fetched, &url)
    {
        match state.fetcher.get(&alternate, CREDENTIAL_ACCEPT).await {
            Ok(found) => {
                url = found.redirected_to.clone().unwrap_or(alternate);
                fetched = found;
            }
            Err(_) => return Subject::HostedUrl(alternate),
        }
    }
    if fetched.status != 200 {
        return Subject::HostedUrl(url);
    }
    let text = String::from_utf8_lossy(&fetched.body).trim().to_string();
    if looks_like_compact_jws(&text) {
        return Subject::Token(text);
    }
    match serde_json::from_slice::<Value>(&fetched.body) {
        Ok(json) if blockcerts::is_blockcerts(&json) => Subject::Blockcerts(json, Some(url)),
        // The document itself is signed: verify what was served.
        Ok(json) if ob3_vcjwt::is_ob3(&json) && ob3_di::has_data_integrity_proof(&json) => Subject::DataIntegrity(json),
        Ok(json) if ob3_vcjwt::is_ob3(&json) => match vc_jwt_at(state, &url).await {
            Some(token) => Subject::Token(token),
            None => no_proof(),
        },
        _ => Subject::HostedUrl(url),
    }
}

/// The credential an HTML page names as its JSON(-LD) alternate, resolved
/// against the page's URL.
fn alternate_credential(fetched: &Fetched, page: &url::Url) -> Option<url::Url> {
    let html = fetched.content_type.starts_with("text/html")
        || fetched.body.iter().take(64).find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
    if !html {
        return None;
    }
    // The head is at the top: a bounded look, never a full HTML parse.
    let text = String::from_utf8_lossy(&fetched.body[..fetched.body.len().min(256 * 1024)]);
    text.match_indices("<link")
        .filter_map(|(at, _)| text[at..].split_once('>').map(|(tag, _)| tag))
        .find_map(|tag| {
            let rel = attribute(tag, "rel")?;
            let kind = attribute(tag, "type")?;
            let credential_type = matches!(kind.as_str(), "application/ld+json" | "application/json");
            (rel.split_whitespace().any(|r| r.eq_ignore_ascii_case("alternate")) && credential_type)
                .then(|| attribute(tag, "href"))
                .flatten()
        })
        .and_then(|href| page.join(&href).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The value of attribute `name` in one HTML start tag, entities decoded
/// (the few a URL or a MIME type can hold).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let quote = rest.chars().next()?;
        let value = if quote == '"' || quote == '\'' {
            rest[1..].split(quote).next()?
        } else {
            rest.split(|c: char| c.is_whitespace() || c == '/').next()?
        };
        return Some(
            value
                .replace("&#x2f;", "/")
                .replace("&#47;", "/")
                .replace("&#x3a;", ":")
                .replace("&#61;", "=")
                .replace("&#x3d;", "=")
                .replace("&amp;", "&"),
        );
    }
    None
}

async fn resolve(
    state: &AppState,
    request: &VerifyRequest,
) -> Result<(&'static str, Option<String>, Subject), ApiError> {
    match (&request.url, &request.credential, &request.jwt) {
        (Some(raw), None, None) => {
            let url = parse_url(state, raw)?;
            Ok(("url", Some(url.to_string()), subject_at(state, url).await))
        }
        (None, Some(credential), None) => {
            let id = credential["id"].as_str().map(str::to_owned);
            let hosted = matches!(
                credential["verification"]["type"].as_str(),
                Some("hosted" | "HostedBadge")
            );
            if hosted {
                // The hosted copy at its id is authoritative, not the one handed in.
                let id =
                    id.ok_or_else(|| invalid("invalid_credential", "credential: a hosted assertion needs its id URL"))?;
                return Ok((
                    "credential",
                    Some(id.clone()),
                    Subject::HostedUrl(parse_url(state, &id)?),
                ));
            }
            if blockcerts::is_blockcerts(credential) {
                return Ok(("credential", id, Subject::Blockcerts(credential.clone(), None)));
            }
            if ob3_vcjwt::is_ob3(credential) && ob3_di::has_data_integrity_proof(credential) {
                return Ok(("credential", id, Subject::DataIntegrity(credential.clone())));
            }
            if ob3_vcjwt::is_ob3(credential)
                && let Some(id) = &id
                && let Ok(url) = parse_url(state, id)
            {
                let subject = vc_jwt_at(state, &url)
                    .await
                    .map(Subject::Token)
                    .unwrap_or_else(no_proof);
                return Ok(("credential", Some(id.clone()), subject));
            }
            Ok(("credential", id, no_proof()))
        }
        (None, None, Some(token)) => {
            let token = token.trim().to_string();
            if !looks_like_compact_jws(&token) {
                return Err(invalid("invalid_jwt", "jwt: not a compact JWS (three base64url parts)"));
            }
            Ok(("jwt", None, Subject::Token(token)))
        }
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
        (status = 415, description = "neither JSON nor a multipart upload"),
        (status = 422, description = "not exactly one of url/credential/jwt, a malformed URL or recipient, a URL the address policy refuses, or (`too_complex`) a credential over the canonicalization limits"),
    ),
)]
#[post("/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let caller = state.admission.admit(&req, 1).await?;
    let content_type = header_str(&req, CONTENT_TYPE);
    if content_type.starts_with("multipart/form-data") {
        let (image, recipient) = read_upload(Multipart::new(req.headers(), payload)).await?;
        let request = request_for_image(&image, recipient)?;
        return Ok(HttpResponse::Ok().json(verify_one(&state, request, caller, started).await?));
    }
    if !content_type.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(
            "send Content-Type: application/json".into(),
        ));
    }
    let body = read_body_limited(payload, MAX_REQUEST).await?;
    let request: VerifyRequest = serde_json::from_slice(&body).map_err(|e| invalid("invalid_json", e.to_string()))?;
    Ok(HttpResponse::Ok().json(verify_one(&state, request, caller, started).await?))
}

/// Largest image upload accepted.
const MAX_UPLOAD: usize = 2 * 1024 * 1024;

/// Reads the `image` (or `file`) part and the optional `recipient` field.
async fn read_upload(mut form: Multipart) -> Result<(Vec<u8>, Option<String>), ApiError> {
    use futures_util::StreamExt;
    let (mut image, mut recipient) = (None, None);
    while let Some(field) = form.next().await {
        let (name, bytes) = read_field_limited(field, |_| MAX_UPLOAD).await?;
        match name.as_str() {
            "image" | "file" => image = Some(bytes),
            "recipient" => recipient = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            _ => {}
        }
    }
    let image = image.ok_or_else(|| invalid("invalid_upload", "send the baked badge as the form field `image`"))?;
    Ok((image, recipient.filter(|r| !r.is_empty())))
}

/// Turns what an image has baked in (a URL, assertion JSON or a JWS) into a request.
fn request_for_image(image: &[u8], recipient: Option<String>) -> Result<VerifyRequest, ApiError> {
    let baked = baked::extract(image).map_err(|e| match e {
        BakedError::NothingBaked => invalid("nothing_baked", e.to_string()),
        _ => invalid("invalid_image", e.to_string()),
    })?;
    let mut request = VerifyRequest {
        url: None,
        credential: None,
        jwt: None,
        recipient,
    };
    if looks_like_compact_jws(&baked) {
        request.jwt = Some(baked);
    } else if baked.starts_with('{') {
        let json =
            serde_json::from_str(&baked).map_err(|e| invalid("invalid_image", format!("the baked JSON: {e}")))?;
        request.credential = Some(json);
    } else {
        request.url = Some(baked);
    }
    Ok(request)
}

/// Verifies one request: the work behind `/verify` and each item of `/verify/batch`.
///
/// Documents may come from the cache, but a verdict other than `valid` is
/// never based on a cached one: it is checked again against fresh
/// documents, so that a key the issuer has just added (a rotation) cannot
/// make a good credential look bad.
async fn verify_one(
    state: &AppState,
    request: VerifyRequest,
    caller: Caller,
    started: Instant,
) -> Result<Report, ApiError> {
    let recipient = request
        .recipient
        .as_deref()
        .map(EmailAddress::parse)
        .transpose()
        .map_err(|e| invalid("invalid_recipient", format!("recipient: {e}")))?;
    let session = AppState {
        fetcher: state.fetcher.session(),
        ..state.clone()
    };
    let (mut report, mut audit) = examine(&session, &request, recipient.as_ref(), started).await?;
    if report.status != Status::Valid && session.fetcher.used_cache() {
        let fresh = AppState {
            fetcher: state.fetcher.fresh(),
            ..state.clone()
        };
        (report, audit) = examine(&fresh, &request, recipient.as_ref(), started).await?;
        metrics::counter!("akashi_verifier_fresh_rechecks_total").increment(1);
    }
    metrics::counter!("akashi_verifications_total", "status" => report.status.as_str()).increment(1);
    audit.api_client_id = caller.client_id();
    state.audit.record(audit).await;
    Ok(report)
}

/// One pass of a verification with the fetcher `state` holds: the report
/// and its audit entry.
async fn examine(
    state: &AppState,
    request: &VerifyRequest,
    recipient: Option<&EmailAddress>,
    started: Instant,
) -> Result<(Report, AuditEntry), ApiError> {
    tokio::time::timeout(
        VERIFICATION_BUDGET,
        examine_unbounded(state, request, recipient, started),
    )
    .await
    .map_err(|_| {
        metrics::counter!("akashi_verifier_budget_exceeded_total").increment(1);
        ApiError::Unavailable(format!(
            "verification_timeout: the verification took longer than {} s",
            VERIFICATION_BUDGET.as_secs()
        ))
    })?
}

async fn examine_unbounded(
    state: &AppState,
    request: &VerifyRequest,
    recipient: Option<&EmailAddress>,
    started: Instant,
) -> Result<(Report, AuditEntry), ApiError> {
    let recipient = recipient.cloned();
    let (input_kind, subject_text, subject) = resolve(state, request).await?;
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
        Subject::Token(token) => {
            let payload = ob2_signed::jws_payload(&token).unwrap_or(Value::Null);
            if ob2_signed::is_signed_assertion(&payload) {
                let findings = ob2_signed::verify(
                    &state.fetcher,
                    &token,
                    recipient.as_ref(),
                    &state.trusted_issuers,
                    &mut checks,
                )
                .await;
                (Some("ob2-signed".to_string()), findings)
            } else if ob3_vcjwt::is_ob3(&payload) {
                let findings = ob3_vcjwt::verify(
                    &state.fetcher,
                    &token,
                    recipient.as_ref(),
                    &state.trusted_issuers,
                    &mut checks,
                )
                .await;
                (Some("ob3-vcjwt".to_string()), findings)
            } else {
                checks.fail(
                    "format",
                    Status::Unknown,
                    "The token is neither a signed OB 2.0 assertion nor an OB 3.0 VC-JWT.",
                    "トークンは署名付き OB 2.0 アサーションでも OB 3.0 VC-JWT でもありません。",
                );
                (None, Findings::default())
            }
        }
        Subject::DataIntegrity(credential) => {
            let findings = ob3_di::verify(
                &state.fetcher,
                &credential,
                recipient.as_ref(),
                &state.trusted_issuers,
                &mut checks,
            )
            .await;
            (Some("ob3-di".to_string()), findings)
        }
        Subject::Blockcerts(certificate, fetched_from) => {
            let findings = blockcerts::verify(
                &state.fetcher,
                state.ethereum.as_deref(),
                &certificate,
                fetched_from.as_ref(),
                recipient.as_ref(),
                &state.trusted_issuers,
                &mut checks,
            )
            .await;
            (Some("blockcerts".to_string()), findings)
        }
        Subject::Unsupported { kind, en, ja } => {
            checks.fail("format", Status::Unknown, en, ja);
            tracing::info!(kind, "unsupported format asked");
            (None, Findings::default())
        }
    };
    if let Some(why) = checks.too_complex_reason() {
        return Err(invalid("too_complex", why.to_string()));
    }
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
    let audit = AuditEntry {
        id: report.id,
        input_kind,
        subject: subject_text,
        status: report.status.as_str(),
        format: report.format.clone(),
        elapsed_ms: report.elapsed_ms as i64,
        api_client_id: None,
    };
    Ok((report, audit))
}

/// Most items in one batch.
const MAX_BATCH: usize = 50;
/// Items verified at the same time within one batch.
const BATCH_CONCURRENCY: usize = 8;

/// A candidate's whole record at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [
    {"url": "https://badges.example.ac.jp/ob2/assertions/0193f7c2-0000-7000-8000-000000000001", "recipient": "hanako@example.ac.jp"},
    {"jwt": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiIsInR5cCI6IkpXVCJ9.eyJ2YyI6Ii4uLiJ9.c2lnbmF0dXJl"},
    {"credential": {"@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/blockcerts/v3.2"], "type": ["VerifiableCredential", "BlockcertsCredential"], "proof": {"type": "DataIntegrityProof", "cryptosuite": "merkle-proof-2019"}}}
]}))]
pub struct BatchRequest {
    /// Up to 50 items, each as for `POST /verify`.
    pub items: Vec<VerifyRequest>,
}

/// One answer per item, in the order given: a report, or why the item could
/// not be verified at all.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct BatchResponse {
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<serde_json::Value>,
    pub elapsed_ms: u64,
}

/// Verifies several credentials concurrently; one result per item, in order.
#[utoipa::path(
    request_body = BatchRequest,
    responses(
        (status = 200, body = BatchResponse, description = "a report (or an item error) per item"),
        (status = 422, description = "not a batch, empty, or more than 50 items"),
    ),
)]
#[post("/verify/batch")]
pub async fn verify_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    use futures_util::StreamExt;
    let started = Instant::now();
    if !header_str(&req, CONTENT_TYPE).starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(
            "send Content-Type: application/json".into(),
        ));
    }
    let body = read_body_limited(payload, MAX_REQUEST * 4).await?;
    let batch: BatchRequest = serde_json::from_slice(&body).map_err(|e| invalid("invalid_json", e.to_string()))?;
    if batch.items.is_empty() || batch.items.len() > MAX_BATCH {
        return Err(invalid("invalid_batch", format!("items: 1 to {MAX_BATCH}")));
    }
    // Each item counts against the caller's rate limit.
    let caller = state.admission.admit(&req, batch.items.len() as u32).await?;
    let state = state.into_inner();
    let results: Vec<serde_json::Value> = futures_util::stream::iter(batch.items)
        .map(|item| {
            let state = state.clone();
            async move {
                match verify_one(&state, item, caller, Instant::now()).await {
                    Ok(report) => serde_json::to_value(report).unwrap_or_default(),
                    Err(e) => serde_json::json!({"error": {"code": e.specific_code(), "message": e.to_string()}}),
                }
            }
        })
        .buffered(BATCH_CONCURRENCY)
        .collect()
        .await;
    Ok(HttpResponse::Ok().json(BatchResponse {
        results,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }))
}

#[cfg(test)]
mod alternate_tests {
    use super::*;

    fn page(body: &str) -> Fetched {
        Fetched {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: body.as_bytes().to_vec(),
            redirected_to: None,
        }
    }

    #[test]
    fn a_badge_page_names_its_credential() {
        let base = url::Url::parse("http://127.0.0.1:8083/badges/1").unwrap();
        let html = r#"<!DOCTYPE html><html><head><meta charset="utf-8">
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/ld+json" href="http:&#x2f;&#x2f;127.0.0.1:8082&#x2f;ob2&#x2f;assertions&#x2f;1">
            </head><body>…</body></html>"#;
        assert_eq!(
            alternate_credential(&page(html), &base).unwrap().as_str(),
            "http://127.0.0.1:8082/ob2/assertions/1"
        );
        let relative = r#"<link type='application/json' rel='alternate nofollow' href='/ob2/x?a=1&amp;b=2'>"#;
        assert_eq!(
            alternate_credential(&page(relative), &base).unwrap().as_str(),
            "http://127.0.0.1:8083/ob2/x?a=1&b=2"
        );
    }

    #[test]
    fn other_links_and_schemes_are_not_followed() {
        let base = url::Url::parse("http://127.0.0.1:8083/badges/1").unwrap();
        for html in [
            r#"<link rel="alternate" type="application/rss+xml" href="/feed">"#,
            r#"<link rel="stylesheet" type="application/json" href="/x.json">"#,
            r#"<link rel="alternate" type="application/ld+json" href="javascript:alert(1)">"#,
            r#"<p>no links</p>"#,
        ] {
            assert_eq!(alternate_credential(&page(html), &base), None, "{html}");
        }
        let json = Fetched {
            content_type: "application/json".into(),
            ..page(r#"{"link": "<link rel=\"alternate\" type=\"application/json\" href=\"/x\">"}"#)
        };
        assert_eq!(alternate_credential(&json, &base), None);
    }
}
