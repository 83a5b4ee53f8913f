//! `POST /webhooks/{source}`: completion events from every LMS.
//!
//! Order matters: the delivery is authenticated (per source, see
//! [`crate::webhook_auth`]) before anything is stored; the events, the award
//! decisions and the `issue.requested` messages commit in one transaction;
//! only then is 202 answered, so an answered event is durable.

use actix_web::{HttpRequest, HttpResponse, post, web};
use akashi_runtime::ApiError;
use akashi_runtime::http::{RequestId, read_body_limited};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::webhook_sources;
use crate::decisions::{self, EventOutcome};
use crate::domain::completion::{CompletionError, CompletionEvent};
use crate::sources::{self, KNOWN_SOURCES};
use crate::startup::AppState;
use crate::webhook_auth::{self, AuthError, Presented};

/// Largest webhook body accepted (an xAPI or Caliper batch fits).
pub const MAX_BODY: usize = 1024 * 1024;
/// The signature header every source accepts.
pub const SIGNATURE_HEADER: &str = "X-Akashi-Signature";

/// The answer to a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The (first) stored event's id; absent when the delivery held no event
    /// about completion.
    pub id: Option<Uuid>,
    /// `accepted`, `held` (stored; the learner's e-mail is not known yet),
    /// `duplicate` (seen before; nothing new was done) or `ignored` (valid,
    /// but about nothing that can earn a badge; not stored).
    pub status: &'static str,
    /// How many awards this delivery caused to be requested.
    pub awards_requested: usize,
    /// Each event of the delivery (xAPI and Caliper deliver several).
    pub events: Vec<EventOutcome>,
}

fn auth_error(source: &str, e: AuthError) -> ApiError {
    tracing::warn!(source, "webhook refused: {e}");
    metrics::counter!("lms_webhook_refused_total", "source" => source.to_string()).increment(1);
    ApiError::Unauthorized(e.to_string())
}

fn completion_error(e: CompletionError) -> ApiError {
    match e {
        CompletionError::Json(m) => ApiError::unprocessable("invalid_payload", m),
        CompletionError::Field(m) => ApiError::invalid_field(m),
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

struct SourceConfig {
    secrets: Vec<String>,
    jwks_url: Option<String>,
}

/// Receives one delivery from an LMS. 202 once its events are stored (with
/// the award requests they caused); 200 for a delivery seen before or about
/// nothing that earns a badge; 401 for missing, wrong or stale credentials
/// (nothing stored).
#[utoipa::path(
    params(("source" = String, Path, description = "generic, moodle, canvas, xapi, caliper or openedx")),
    request_body(content = String, description = "the source's own format (docs/integrations.md); for `generic` see docs/api.md", content_type = "application/json"),
    responses(
        (status = 202, body = Accepted, description = "stored; awards requested (or held until the learner is known)"),
        (status = 200, body = Accepted, description = "seen before, or nothing about completion; ignored"),
        (status = 401, description = "credentials missing, malformed, stale (> 300 s) or wrong"),
        (status = 404, description = "unknown or unconfigured source"),
        (status = 413, description = "body over 1 MiB"),
        (status = 422, description = "not a valid event of this source"),
    ),
)]
#[post("/webhooks/{source}")]
pub async fn receive(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let source = path.into_inner();
    if !KNOWN_SOURCES.contains(&source.as_str()) {
        return Err(ApiError::NotFound(format!("unknown webhook source {source:?}")));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let (config, tenant) = webhook_sources::table
        .find(&source)
        .select((
            webhook_sources::secrets,
            webhook_sources::jwks_url,
            webhook_sources::tenant_issuer_id,
        ))
        .first::<(Vec<String>, Option<String>, Option<uuid::Uuid>)>(&mut conn)
        .await
        .optional()?
        .map(|(secrets, jwks_url, tenant)| (SourceConfig { secrets, jwks_url }, tenant))
        .ok_or_else(|| ApiError::NotFound(format!("webhook source {source:?} is not configured")))?;
    let origin = decisions::Origin {
        source: &source,
        tenant,
    };
    let body = read_body_limited(payload, MAX_BODY).await?;
    let (events, raw_body) = authenticate_and_parse(&state, &source, &config, &req, &body).await?;
    let delivery_key = header(&req, "Idempotency-Key")
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200);
    if events.is_empty() {
        metrics::counter!("lms_webhook_events_total", "source" => source.clone(), "status" => "ignored").increment(1);
        return Ok(HttpResponse::Ok().json(Accepted {
            id: None,
            status: "ignored",
            awards_requested: 0,
            events: vec![],
        }));
    }
    let many = events.len() > 1;
    let correlation = request_id.0.clone();
    let outcomes = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut outcomes = Vec::with_capacity(events.len());
            for (index, event) in events.iter().enumerate() {
                let key = delivery_key.map(|k| if many { format!("{k}#{index}") } else { k.to_string() });
                outcomes.push(decisions::record(conn, origin, &raw_body, event, key.as_deref(), &correlation).await?);
            }
            Ok(outcomes)
        })
        .await?;
    let awards: usize = outcomes.iter().map(|o| o.awards_requested).sum();
    if awards > 0 {
        state.relay.wake();
    }
    let status = ["accepted", "held", "duplicate"]
        .into_iter()
        .find(|s| outcomes.iter().any(|o| o.status == *s))
        .unwrap_or("duplicate");
    for o in &outcomes {
        metrics::counter!("lms_webhook_events_total", "source" => source.clone(), "status" => o.status).increment(1);
    }
    tracing::info!(source, status, events = outcomes.len(), awards, "webhook delivery");
    let answer = Accepted {
        id: <[EventOutcome]>::first(&outcomes).map(|o| o.id),
        status,
        awards_requested: awards,
        events: outcomes,
    };
    Ok(if status == "duplicate" {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::Accepted().json(answer)
    })
}

/// Authenticates a delivery as its source requires and parses its events.
/// Returns the events and the body as it is kept for audit.
async fn authenticate_and_parse(
    state: &AppState,
    source: &str,
    config: &SourceConfig,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Vec<CompletionEvent>, String), ApiError> {
    let now = Utc::now().timestamp();
    let tolerance = state.signature_tolerance_secs;
    let presented = Presented {
        signature: header(req, SIGNATURE_HEADER),
        authorization: header(req, "Authorization"),
    };
    let extra = webhook_auth::extra_for(source);
    let authenticated = webhook_auth::check_headers(&presented, extra, body, &config.secrets, now, tolerance)
        .map_err(|e| auth_error(source, e))?;
    let text = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::unprocessable("invalid_payload", "body is not UTF-8"))
    };
    match source {
        "generic" => {
            if !authenticated {
                return Err(auth_error(source, AuthError::Missing("X-Akashi-Signature")));
            }
            let event = sources::generic::parse(body, header(req, "Idempotency-Key")).map_err(completion_error)?;
            Ok((vec![event], text(body)?))
        }
        "moodle" => {
            let delivery = match sources::moodle::parse(body) {
                Ok(d) => d,
                // An unauthenticated body that cannot even be read carries no token.
                Err(_) if !authenticated => {
                    return Err(auth_error(
                        source,
                        AuthError::Missing("the body's token or X-Akashi-Signature"),
                    ));
                }
                Err(e) => return Err(completion_error(e)),
            };
            if !authenticated {
                match &delivery.token {
                    Some(token) if webhook_auth::matches_a_secret(token, &config.secrets) => {}
                    Some(_) => return Err(auth_error(source, AuthError::Mismatch)),
                    None => {
                        return Err(auth_error(
                            source,
                            AuthError::Missing("the body's token or X-Akashi-Signature"),
                        ));
                    }
                }
            }
            Ok((delivery.events, delivery.redacted_body))
        }
        "canvas" => {
            if !authenticated && webhook_auth::looks_like_jwt(body) {
                let url = config.jwks_url.as_deref().ok_or_else(|| {
                    auth_error(
                        source,
                        AuthError::Jwt("signed payloads need the source's jwks_url to be configured".into()),
                    )
                })?;
                let claims = webhook_auth::verify_canvas_jwt(body, &state.jwks, url, now, tolerance)
                    .await
                    .map_err(|e| auth_error(source, e))?;
                let events = if claims.get("data").is_some() {
                    sources::caliper::parse_value(&claims, true)
                } else {
                    sources::canvas::parse_value(&claims)
                }
                .map_err(completion_error)?;
                return Ok((events, text(body)?));
            }
            if !authenticated {
                return Err(auth_error(
                    source,
                    AuthError::Missing("a signed payload (JWT), Authorization: Bearer, or X-Akashi-Signature"),
                ));
            }
            Ok((sources::canvas::parse(body).map_err(completion_error)?, text(body)?))
        }
        "xapi" | "caliper" | "openedx" => {
            if !authenticated {
                let wanted = if source == "xapi" {
                    "Authorization: Basic or Bearer, or X-Akashi-Signature"
                } else {
                    "Authorization: Bearer, or X-Akashi-Signature"
                };
                return Err(auth_error(source, AuthError::Missing(wanted)));
            }
            let events = match source {
                "xapi" => sources::xapi::parse(body),
                "caliper" => sources::caliper::parse(body),
                _ => {
                    let attributes = sources::openedx::HeaderAttributes {
                        id: header(req, "ce-id").or(header(req, "ce_id")).map(str::to_owned),
                        event_type: header(req, "ce-type").or(header(req, "ce_type")).map(str::to_owned),
                        time: header(req, "ce-time").or(header(req, "ce_time")).map(str::to_owned),
                    };
                    sources::openedx::parse(body, &attributes)
                }
            }
            .map_err(completion_error)?;
            Ok((events, text(body)?))
        }
        _ => Err(ApiError::NotFound(format!("unknown webhook source {source:?}"))),
    }
}
