//! `/verify`: the human page of the verifier, for HR staff and anyone
//! else: paste a badge link or upload a baked image, read the verdict and
//! every check in Japanese or English. It calls the verifier's API, as any
//! client would.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use akashi_runtime::ApiError;
use akashi_runtime::http::{REQUEST_ID_HEADER, RequestId, header_str, read_field_limited};
use askama::Template;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::domain::lang::{Lang, PageLanguage, Texts};
use crate::domain::report_view;
use crate::routes::badge_page::PageQuery;
use crate::startup::AppState;

/// Largest image accepted from the form (the verifier's own limit).
const MAX_IMAGE: usize = 2 * 1024 * 1024;

struct ResultView {
    status: String,
    headline: String,
    badge_name: Option<String>,
    issuer_name: Option<String>,
    format: Option<String>,
    checks: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    lang: &'a str,
    other_lang: &'a str,
    t: &'a Texts,
    url: String,
    recipient: String,
    result: Option<ResultView>,
}

fn language(req: &HttpRequest, query: &PageQuery) -> Lang {
    Lang::negotiate(
        query.lang.as_deref(),
        Some(header_str(req, header::ACCEPT_LANGUAGE)).filter(|h| !h.is_empty()),
    )
}

fn render(lang: Lang, url: String, recipient: String, result: Option<ResultView>) -> Result<HttpResponse, ApiError> {
    let page = VerifyPage {
        lang: lang.tag(),
        other_lang: if lang == Lang::Ja { "en" } else { "ja" },
        t: lang.texts(),
        url,
        recipient,
        result,
    };
    let body = page.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The form.
#[utoipa::path(params(PageQuery), responses((status = 200, content_type = "text/html")))]
#[get("/verify")]
pub async fn verify_form(req: HttpRequest, query: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    render(language(&req, &query), String::new(), String::new(), None)
}

/// The form posted: a link or an image, verified through the verifier's API.
#[utoipa::path(params(PageQuery), responses((status = 200, content_type = "text/html")))]
#[post("/verify")]
pub async fn verify_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PageQuery>,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = language(&req, &query);
    let t = lang.texts();
    let (mut url, mut recipient, mut image) = (String::new(), String::new(), Vec::new());
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let (name, bytes) = read_field_limited(field, |_| MAX_IMAGE).await?;
        match name.as_str() {
            "url" => url = String::from_utf8_lossy(&bytes).trim().to_string(),
            "recipient" => recipient = String::from_utf8_lossy(&bytes).trim().to_string(),
            "image" => image = bytes,
            _ => {}
        }
    }
    let endpoint = format!("{}/verify", state.verifier_url);
    let call = state.http.post(&endpoint).header(REQUEST_ID_HEADER, &request_id.0);
    let call = if !image.is_empty() {
        let mut upload =
            reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(image).file_name("badge"));
        if !recipient.is_empty() {
            upload = upload.text("recipient", recipient.clone());
        }
        call.multipart(upload)
    } else if !url.is_empty() {
        let mut body = json!({"url": url});
        if !recipient.is_empty() {
            body["recipient"] = json!(recipient);
        }
        call.json(&body)
    } else {
        let nothing = ResultView {
            status: "error".into(),
            headline: t.verify_nothing.into(),
            badge_name: None,
            issuer_name: None,
            format: None,
            checks: vec![],
        };
        return render(lang, url, recipient, Some(nothing));
    };
    let result = match call.send().await {
        Ok(response) => {
            let ok = response.status().is_success();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if ok {
                let status = body["status"].as_str().unwrap_or("unknown").to_string();
                ResultView {
                    headline: report_view::status_text(t, &status).to_string(),
                    status,
                    badge_name: body["badge"]["name"].as_str().map(str::to_owned),
                    issuer_name: body["issuer"]["name"].as_str().map(str::to_owned),
                    format: body["format"].as_str().map(str::to_owned),
                    checks: report_view::checks(&body, lang),
                }
            } else {
                ResultView {
                    status: "error".into(),
                    headline: body["error"]["message"].as_str().unwrap_or(t.unknown).to_string(),
                    badge_name: None,
                    issuer_name: None,
                    format: None,
                    checks: vec![],
                }
            }
        }
        Err(_) => ResultView {
            status: "unknown".into(),
            headline: t.verifier_unreachable.into(),
            badge_name: None,
            issuer_name: None,
            format: None,
            checks: vec![],
        },
    };
    render(lang, url, recipient, Some(result))
}
