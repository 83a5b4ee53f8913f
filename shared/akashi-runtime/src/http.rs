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

/// Middleware: `HEAD` on every `GET` route (link checkers, link previews
/// and monitors use it). The request is routed as the `GET` it stands for;
/// the answer keeps its status and headers — `Content-Length` included —
/// and HTTP/1's encoder, which still knows the request was a `HEAD`, sends
/// no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// Whether the client is a browser asking for a page: its `Accept` names
/// `text/html` before (or without) any JSON type.
fn prefers_html(req: &actix_web::HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let html = accept.find("text/html");
    let json = accept.find("json");
    matches!((html, json), (Some(_), None)) || matches!((html, json), (Some(h), Some(j)) if h < j)
}

/// Middleware: an error answered in the JSON shape becomes a page (in
/// Japanese or English, by `Accept-Language`) for a browser; API clients
/// keep the JSON. Pages that render their own errors are left alone.
pub async fn errors_for_browsers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::header;
    let wants_page = prefers_html(req.request());
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let japanese = akashi_model::Lang::negotiate(None, accept) == akashi_model::Lang::Ja;
    let res = next.call(req).await?.map_into_boxed_body();
    let json_error = res.status().as_u16() >= 400
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
    if !(wants_page && json_error) {
        return Ok(res);
    }
    let (request, response) = res.into_parts();
    let status = response.status();
    let headers = response.headers().clone();
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let message = error["error"]["message"].as_str().unwrap_or_default();
    let page = error_page(status, message, japanese);
    let mut html = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            html.insert_header((name.clone(), value.clone()));
        }
    }
    html.insert_header((header::VARY, "Accept, Accept-Language"));
    let response = html.content_type("text/html; charset=utf-8").body(page);
    Ok(ServiceResponse::new(request, response))
}

/// A plain, self-contained error page.
fn error_page(status: actix_web::http::StatusCode, message: &str, japanese: bool) -> String {
    let code = status.as_u16();
    let (lang, title, hint) = match (japanese, code) {
        (true, 404) => ("ja", "ページが見つかりません", "リンクが正しいか確かめてください。"),
        (true, 410) => (
            "ja",
            "このページはもうありません",
            "発行者が取り消したか、削除されました。",
        ),
        (true, 401 | 403) => (
            "ja",
            "この操作はできません",
            "ログインし直すか、管理者にお問い合わせください。",
        ),
        (true, 429) => (
            "ja",
            "しばらくお待ちください",
            "アクセスが集中しています。少し時間をおいてお試しください。",
        ),
        (true, c) if c >= 500 => (
            "ja",
            "一時的にご利用いただけません",
            "しばらくしてからもう一度お試しください。",
        ),
        (true, _) => ("ja", "リクエストを処理できませんでした", "入力内容を確かめてください。"),
        (false, 404) => ("en", "Page not found", "Check that the link is complete."),
        (false, 410) => ("en", "This page is gone", "The issuer revoked or removed it."),
        (false, 401 | 403) => ("en", "Not allowed", "Sign in again, or ask your administrator."),
        (false, 429) => ("en", "Please wait a moment", "Too many requests; try again shortly."),
        (false, c) if c >= 500 => ("en", "Temporarily unavailable", "Please try again in a little while."),
        (false, _) => ("en", "The request could not be handled", "Check what was entered."),
    };
    let escape = akashi_model::text::escape_markup;
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{code} — {title}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK JP","Hiragino Sans",sans-serif;max-width:40rem;margin:4rem auto;padding:0 1.2rem;color:#1f2328;line-height:1.6}}h1{{font-size:1.5rem}}.code{{color:#59636e}}.detail{{background:#f6f8fa;border-radius:6px;padding:.6rem .8rem;overflow-wrap:anywhere}}</style>
</head><body><main><p class="code">{code}</p><h1>{title}</h1><p>{hint}</p>{detail}</main></body></html>"#,
        detail = if message.is_empty() {
            String::new()
        } else {
            format!(r#"<p class="detail">{}</p>"#, escape(message))
        },
        title = escape(title),
        hint = escape(hint),
    )
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
    /// Checks of what the service needs besides database and broker.
    pub readiness: Arc<Vec<ReadinessCheck>>,
    /// The service's consumers; ready means every one of them is consuming.
    pub consumers: Arc<Vec<akashi_bus::ConsumerSpec>>,
}

/// Liveness: the process answers.
#[get("/healthz")]
async fn healthz(ops: web::Data<Ops>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "service": ops.service}))
}

/// A check `/readyz` runs besides the database, the broker and the consumers.
#[derive(Clone)]
pub struct ReadinessCheck {
    pub name: &'static str,
    pub check: Arc<dyn Fn() -> Result<(), String> + Send + Sync>,
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
    let mut ready = db.is_ok() && broker.is_ok() && consumers.is_ok();
    let mut checks = json!({"database": report(&db), "broker": report(&broker), "consumers": report(&consumers)});
    for extra in ops.readiness.iter() {
        let outcome = (extra.check)();
        ready &= outcome.is_ok();
        checks[extra.name] = report(&outcome);
    }
    let body = json!({
        "service": ops.service,
        "status": if ready { "ready" } else { "not_ready" },
        "checks": checks,
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

#[cfg(test)]
mod page_tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn browsers_prefer_pages_and_api_clients_json() {
        let with = |accept: &str| TestRequest::get().insert_header(("Accept", accept)).to_http_request();
        assert!(prefers_html(&with("text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(!prefers_html(&with("application/json")));
        assert!(!prefers_html(&with("*/*")));
        assert!(!prefers_html(&with("application/ld+json, text/html;q=0.5")));
        assert!(!prefers_html(&TestRequest::get().to_http_request()));
    }

    #[test]
    fn the_error_page_escapes_the_message() {
        let page = error_page(actix_web::http::StatusCode::NOT_FOUND, "<script>x</script>", true);
        assert!(page.contains("ページが見つかりません") && page.contains("lang=\"ja\""));
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"));
        let page = error_page(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "", false);
        assert!(page.contains("Temporarily unavailable") && !page.contains("detail\""));
    }
}
