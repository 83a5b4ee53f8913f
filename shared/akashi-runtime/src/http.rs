//! Request ids, HTTP metrics and the operational endpoints every service serves.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, get, web};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tracing::Instrument;

use akashi_bus::Bus;
use akashi_db::PgPool;

use crate::ApiError;

/// The header carrying a request's id in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, as handlers see it; it becomes the
/// `correlationid` of the messages a request causes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl actix_web::FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        std::future::ready(Ok(id))
    }
}

fn acceptable_request_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware: takes (or makes) a request id, runs the request in a span that
/// carries it, echoes it in the response, and records HTTP metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!("http", request_id = %request_id, method = %method, path = %req.path());
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics::counter!("akashi_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("akashi_http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, elapsed_ms = elapsed * 1000.0, "request failed");
        } else {
            tracing::debug!(status, elapsed_ms = elapsed * 1000.0, "request");
        }
    });
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    default_security_headers(res.headers_mut());
    Ok(res)
}

/// The CSP of an HTML page that sets none of its own: nothing but the
/// service's own scripts (pages carry no inline script), inline styles
/// (the pages' own `<style>`), images from anywhere (badge images live on
/// issuers' hosts), and no framing. Pages meant to be framed (the embed
/// card, the LTI tool's pages) set their own.
pub const DEFAULT_PAGE_CSP: &str = "default-src 'self'; img-src 'self' data: blob: http: https:; style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// Headers every response of every service carries, unless the route set
/// its own: no MIME sniffing, referrers only to the same origin in full,
/// and for HTML the default CSP and no framing.
pub fn default_security_headers(headers: &mut actix_web::http::header::HeaderMap) {
    use actix_web::http::header;
    let mut set_if_absent = |name: header::HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set_if_absent(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_if_absent(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_PAGE_CSP),
        );
        if !headers.contains_key(header::X_FRAME_OPTIONS) {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
}

/// Whether a form post comes from the service's own pages: its `Origin`,
/// or without one its `Referer`, has `public_base`'s origin. A post with
/// neither (every browser sends one of them on a form post) or with
/// `Origin: null` is refused, and `Host` / `X-Forwarded-Host` — which the
/// request itself chooses — play no part.
pub fn from_own_origin(req: &actix_web::HttpRequest, public_base: &str) -> bool {
    use actix_web::http::header;
    let own = match url::Url::parse(public_base) {
        Ok(u) => u.origin(),
        Err(_) => return false,
    };
    let origin_of = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| url::Url::parse(v).ok())
            .map(|u| u.origin())
    };
    match origin_of(header::ORIGIN) {
        Some(origin) => origin == own,
        None if req.headers().contains_key(header::ORIGIN) => false,
        None => origin_of(header::REFERER).is_some_and(|referer| referer == own),
    }
}

/// A request header as text; empty when absent or not visible ASCII.
pub fn header_str(req: &actix_web::HttpRequest, name: actix_web::http::header::HeaderName) -> &str {
    req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Reads a request body, refusing (413, in our error shape) past `limit` bytes.
pub async fn read_body_limited(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, crate::ApiError> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| crate::ApiError::bad_request("invalid_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(crate::ApiError::PayloadTooLarge(format!(
                "request body is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads one multipart field, refusing (413) past the limit `limit_for`
/// gives its name; answers the field's name with its bytes.
pub async fn read_field_limited(
    field: Result<actix_multipart::Field, actix_multipart::MultipartError>,
    limit_for: impl Fn(&str) -> usize,
) -> Result<(String, Vec<u8>), crate::ApiError> {
    use futures_util::StreamExt;
    let mut field = field.map_err(|e| crate::ApiError::bad_request("invalid_multipart", e.to_string()))?;
    let name = field.name().unwrap_or_default().to_string();
    let limit = limit_for(&name);
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| crate::ApiError::bad_request("invalid_multipart", e.to_string()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(crate::ApiError::PayloadTooLarge(format!(
                "form field {name:?} is larger than {limit} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((name, bytes))
}

/// What the operational endpoints need.
#[derive(Clone)]
pub struct Ops {
    pub service: &'static str,
    pub pool: PgPool,
    pub bus: Arc<Bus>,
    pub metrics: PrometheusHandle,
    pub openapi: Arc<serde_json::Value>,
    /// `/metrics` needs this bearer token; without one, a loopback peer.
    pub metrics_token: Option<secrecy::SecretString>,
    /// The service's consumers; ready means every one of them is consuming.
    pub consumers: Arc<Vec<akashi_bus::ConsumerSpec>>,
}

/// Liveness: the process answers.
#[get("/healthz")]
async fn healthz(ops: web::Data<Ops>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "service": ops.service}))
}

/// Readiness: the database and the broker both answer.
#[get("/readyz")]
async fn readyz(ops: web::Data<Ops>) -> HttpResponse {
    let timeout = std::time::Duration::from_secs(3);
    let db = match tokio::time::timeout(timeout, akashi_db::ping(&ops.pool)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_string()),
    };
    let broker = match tokio::time::timeout(timeout, ops.bus.check()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_string()),
    };
    // A service that cannot receive its messages yet is not ready either.
    let idle: Vec<&str> = ops
        .consumers
        .iter()
        .filter(|c| !c.consuming.load(std::sync::atomic::Ordering::SeqCst))
        .map(|c| c.routing_key)
        .collect();
    let consumers = if idle.is_empty() {
        Ok(())
    } else {
        Err(format!("not consuming yet: {}", idle.join(", ")))
    };
    let report = |r: &Result<(), String>| match r {
        Ok(()) => json!({"status": "ok"}),
        Err(e) => json!({"status": "down", "error": e}),
    };
    let ready = db.is_ok() && broker.is_ok() && consumers.is_ok();
    let body = json!({
        "service": ops.service,
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {"database": report(&db), "broker": report(&broker), "consumers": report(&consumers)},
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition, for the operator's scraper only: with the
/// configured bearer token, or (none configured) from a loopback address.
/// Metrics name routes, queues and error rates — a map for an attacker.
#[get("/metrics")]
async fn metrics_endpoint(req: actix_web::HttpRequest, ops: web::Data<Ops>) -> Result<HttpResponse, ApiError> {
    use secrecy::ExposeSecret;
    let allowed = match &ops.metrics_token {
        Some(token) => {
            let presented = header_str(&req, actix_web::http::header::AUTHORIZATION)
                .strip_prefix("Bearer ")
                .unwrap_or_default();
            akashi_crypto::token::constant_time_eq(presented, token.expose_secret())
        }
        None => req.peer_addr().is_some_and(|peer| peer.ip().is_loopback()),
    };
    if !allowed {
        return Err(ApiError::Unauthorized(
            "metrics_token: /metrics needs the operator's metrics token".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(ops.metrics.render()))
}

/// The service's OpenAPI 3 document.
#[get("/openapi.json")]
async fn openapi(ops: web::Data<Ops>) -> HttpResponse {
    HttpResponse::Ok().json(ops.openapi.as_ref())
}

/// Registers `/healthz`, `/readyz`, `/metrics` and `/openapi.json`.
pub fn configure_ops(cfg: &mut web::ServiceConfig, ops: Ops) {
    cfg.app_data(web::Data::new(ops))
        .service(healthz)
        .service(readyz)
        .service(metrics_endpoint)
        .service(openapi);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_bounded_and_plain() {
        assert!(acceptable_request_id("evt-8f3a_1.2:3"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("has space"));
        assert!(!acceptable_request_id("line\nbreak"));
        assert!(!acceptable_request_id(&"x".repeat(129)));
    }
}
