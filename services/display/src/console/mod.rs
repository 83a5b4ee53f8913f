//! The admin console: server-rendered pages (Japanese and English, no
//! JavaScript build) over the issuer's and the lms-adapter's admin APIs.
//!
//! The admin signs in with an admin token; it is kept in an HttpOnly,
//! SameSite=Strict cookie and sent as the bearer of every API call, so the
//! console can do exactly what the token may — tenant and role checks stay
//! in the APIs. Every form posts back to the console, which calls the API
//! and redirects (post/redirect/get), so a reload never repeats an action.

pub mod api;
pub mod builder;
pub mod pages;
pub mod reasons;
pub mod session;
pub mod texts;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::lang::Lang;
use crate::startup::AppState;
use api::{AdminApi, ApiCallError, Service};
use pages::*;
use texts::ConsoleTexts;

const TOKEN_COOKIE: &str = "akashi_console";
const LANG_COOKIE: &str = "akashi_console_lang";

/// Registers the console's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(console_script)
        .service(login_form)
        .service(login_submit)
        .service(logout)
        .service(home)
        .service(create_issuer)
        .service(create_badge_class)
        .service(put_translation)
        .service(put_presentation)
        .service(rules_page)
        .service(create_rule)
        .service(rule_page)
        .service(update_rule)
        .service(rule_action)
        .service(awards_page)
        .service(award_action)
        .service(decisions_page)
        .service(review_decision)
        .service(lms_page)
        .service(create_registration_link)
        .service(dead_letters_page)
        .service(dead_letter_action)
        .service(team_page)
        .service(create_token)
        .service(revoke_token);
    subscriptions::configure(cfg);
}

/// The language: `?lang=`, then the console's cookie, then the browser's.
fn language(req: &HttpRequest) -> Lang {
    let query = web::Query::<LangQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.lang.clone());
    let cookie = req.cookie(LANG_COOKIE).map(|c| c.value().to_string());
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(query.or(cookie).as_deref(), accept)
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn chrome(req: &HttpRequest, nav: &'static str) -> Chrome {
    let lang = language(req);
    let msg = web::Query::<MsgQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.msg.clone())
        .filter(|m| !m.is_empty())
        .map(|m| m.chars().take(300).collect());
    Chrome {
        csrf: req
            .extensions()
            .get::<session::CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
        lang: lang.tag(),
        other_lang: match lang {
            Lang::En => "ja",
            Lang::Ja => "en",
        },
        t: ConsoleTexts::of(lang),
        msg,
        nav,
        path: req.path().to_string(),
    }
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

/// The page, with the language remembered when `?lang=` chose it.
fn page(req: &HttpRequest, body: Result<String, askama::Error>) -> HttpResponse {
    let mut response = match body {
        Ok(html) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            HttpResponse::InternalServerError().body("template error")
        }
    };
    if let Ok(q) = web::Query::<LangQuery>::from_query(req.query_string())
        && let Some(lang) = &q.lang
    {
        let _ = response.add_cookie(
            &Cookie::build(LANG_COOKIE, Lang::negotiate(Some(lang), None).tag())
                .path("/console")
                .same_site(SameSite::Lax)
                .finish(),
        );
    }
    security_headers(&mut response);
    response
}

/// The console's script (image previews); pages carry no inline script.
#[get("/console/console.js")]
async fn console_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../../static/console.js"))
}

/// Console pages are never framed, cached or sent elsewhere as referrers.
fn security_headers(response: &mut HttpResponse) {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob: http: https:; style-src 'unsafe-inline'; script-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

fn done(to: &str, req: &HttpRequest) -> HttpResponse {
    let t = ConsoleTexts::of(language(req));
    let sep = if to.contains('?') { '&' } else { '?' };
    redirect(&format!("{to}{sep}msg={}", urlencode(t.done)))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The signed-in admin's API client, or the answer that sends them to sign in.
async fn session<'a>(
    req: &HttpRequest,
    state: &'a AppState,
    token: &'a mut String,
) -> Result<AdminApi<'a>, Box<HttpResponse>> {
    let Some(cookie) = req.cookie(TOKEN_COOKIE) else {
        return Err(Box::new(redirect("/console/login")));
    };
    match session::find(state, req, cookie.value()).await {
        Ok(Some(found)) => *token = found.admin_token,
        Ok(None) => {
            let mut r = redirect("/console/login");
            let _ = r.add_removal_cookie(&Cookie::build(TOKEN_COOKIE, "").path("/console").finish());
            return Err(Box::new(r));
        }
        Err(e) => {
            tracing::error!(error = %e, "console session lookup failed");
            return Err(Box::new(
                HttpResponse::ServiceUnavailable().body("the console cannot read sessions now"),
            ));
        }
    }
    Ok(AdminApi {
        http: &state.http,
        token: token.as_str(),
        issuer_url: &state.issuer_url,
        lms_url: &state.lms_adapter_url,
    })
}

/// A refused call: 401 sends the admin to sign in again; anything else is
/// shown with the API's own message.
/// The builder's form could not be made into a rule: the error page, as
/// for a refusal by the lms-adapter.
fn builder_refused(req: &HttpRequest, message: String) -> HttpResponse {
    refused(
        req,
        ApiCallError::Refused {
            status: 422,
            code: "invalid_builder".into(),
            message,
        },
    )
}

fn refused(req: &HttpRequest, e: ApiCallError) -> HttpResponse {
    if e.status() == 401 {
        let mut r = redirect("/console/login");
        let _ = r.add_removal_cookie(&Cookie::build(TOKEN_COOKIE, "").path("/console").finish());
        return r;
    }
    let c = chrome(req, "");
    let (code, message) = match &e {
        ApiCallError::Refused { code, message, .. } => (code.clone(), message.clone()),
        ApiCallError::Unreachable(m) => ("unreachable".to_string(), m.clone()),
    };
    let body = ErrorPage {
        c,
        status: e.status(),
        code,
        message,
    }
    .render();
    let mut response = page(req, body);
    *response.status_mut() =
        actix_web::http::StatusCode::from_u16(e.status()).unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    response
}

/// Refuses a form posted from another site (SameSite=Strict already keeps
/// the cookie off such requests; this is the second lock): the origin must
/// be the configured public one, whatever Host or X-Forwarded-Host say.
fn same_origin(req: &HttpRequest, state: &AppState) -> Result<(), Box<HttpResponse>> {
    if akashi_runtime::http::from_own_origin(req, &state.public_base) {
        Ok(())
    } else {
        Err(Box::new(HttpResponse::Forbidden().body(format!(
            "cross-site form refused: the console accepts forms from {} only (its public URL); open the console there",
            state.public_base
        ))))
    }
}

/// Refuses a form post without the session's CSRF token (the third lock).
fn csrf_checked(req: &HttpRequest) -> Result<(), Box<HttpResponse>> {
    let expected = req.extensions().get::<session::CsrfToken>().map(|t| t.0.clone());
    let presented = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    match (expected, presented) {
        (Some(e), Some(p)) if akashi_crypto::token::constant_time_eq(&e, &p) => Ok(()),
        _ => Err(Box::new(
            HttpResponse::Forbidden().body("the form's CSRF token is missing or wrong: reload the page"),
        )),
    }
}

macro_rules! signed_in {
    ($req:expr, $state:expr, $token:ident) => {{
        match session(&$req, &$state, &mut $token).await {
            Ok(api) => api,
            Err(r) => return *r,
        }
    }};
}

/// A form post's session: refused from another origin or without the
/// session's CSRF token, else as `signed_in!`.
macro_rules! posted_by_admin {
    ($req:expr, $state:expr, $token:ident) => {{
        if let Err(r) = same_origin(&$req, &$state) {
            return *r;
        }
        let api = signed_in!($req, $state, $token);
        if let Err(r) = csrf_checked(&$req) {
            return *r;
        }
        api
    }};
}

macro_rules! try_api {
    ($req:expr, $call:expr) => {{
        match $call.await {
            Ok(v) => v,
            Err(e) => return refused(&$req, e),
        }
    }};
}

// After the macros it uses (`macro_rules!` scope is textual).
mod subscriptions;

#[get("/console/login")]
async fn login_form(req: HttpRequest) -> HttpResponse {
    let body = LoginPage {
        c: chrome(&req, "login"),
        error: None,
    }
    .render();
    page(&req, body)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

#[post("/console/login")]
async fn login_submit(req: HttpRequest, state: web::Data<AppState>, form: web::Form<LoginForm>) -> HttpResponse {
    if let Err(r) = same_origin(&req, &state) {
        return *r;
    }
    let token = form.token.trim().to_string();
    let api = AdminApi {
        http: &state.http,
        token: &token,
        issuer_url: &state.issuer_url,
        lms_url: &state.lms_adapter_url,
    };
    // Any token that may read issuers (every role) signs in.
    match api.get(Service::Issuer, "/admin/issuers").await {
        Ok(_) if !token.is_empty() => {
            let id = match session::start(&state, &token).await {
                Ok(id) => id,
                Err(e) => {
                    tracing::error!(error = %e, "console session could not be started");
                    return HttpResponse::ServiceUnavailable().body("the console cannot start a session now");
                }
            };
            let mut r = redirect("/console");
            let _ = r.add_cookie(
                &Cookie::build(TOKEN_COOKIE, id)
                    .path("/console")
                    .http_only(true)
                    .same_site(SameSite::Strict)
                    .secure(state.public_base.starts_with("https://"))
                    .max_age(CookieDuration::hours(8))
                    .finish(),
            );
            r
        }
        other => {
            let message = match other {
                Err(e) => e.to_string(),
                Ok(_) => "empty token".into(),
            };
            let body = LoginPage {
                c: chrome(&req, "login"),
                error: Some(message),
            }
            .render();
            let mut r = page(&req, body);
            *r.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            r
        }
    }
}

#[post("/console/logout")]
async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(r) = same_origin(&req, &state) {
        return *r;
    }
    if let Some(cookie) = req.cookie(TOKEN_COOKIE)
        && let Err(e) = session::end(&state, cookie.value()).await
    {
        tracing::error!(error = %e, "console session could not be ended");
        return HttpResponse::ServiceUnavailable().body("the console cannot end the session now");
    }
    let mut r = redirect("/console/login");
    let _ = r.add_removal_cookie(&Cookie::build(TOKEN_COOKIE, "").path("/console").finish());
    r
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    list(v).iter().map(text).collect()
}

#[get("/console")]
async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let items = try_api!(req, issuers_with_badges(&api));
    page(
        &req,
        HomePage {
            c: chrome(&req, "issuers"),
            issuers: items,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct NewIssuerForm {
    name: String,
    url: String,
    email: String,
}

#[post("/console/issuers")]
async fn create_issuer(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NewIssuerForm>) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let body = json!({"name": form.name, "url": form.url, "email": form.email});
    try_api!(
        req,
        api.call(Method::POST, Service::Issuer, "/admin/issuers", Some(&body))
    );
    done("/console", &req)
}

/// A multipart form's fields as (name, file name of a file field, bytes),
/// at most 2 MB in all (a 413 page beyond).
async fn form_fields(
    mut payload: actix_multipart::Multipart,
) -> Result<Vec<(String, Option<String>, Vec<u8>)>, HttpResponse> {
    use futures_util::StreamExt;
    let mut fields = Vec::new();
    let mut total = 0usize;
    while let Some(Ok(mut field)) = payload.next().await {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(Ok(chunk)) = field.next().await {
            total += chunk.len();
            if total > 2 * 1024 * 1024 {
                return Err(HttpResponse::PayloadTooLarge().body("the form is larger than 2 MB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        fields.push((name, filename, bytes));
    }
    Ok(fields)
}

/// Badge class creation: the form's fields and image go to the issuer as
/// the same multipart form its API takes.
#[post("/console/issuers/{id}/badge-classes")]
async fn create_badge_class(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    payload: actix_multipart::Multipart,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let fields = match form_fields(payload).await {
        Ok(fields) => fields,
        Err(too_large) => return too_large,
    };
    let mut form = reqwest::multipart::Form::new();
    // The translation's fields are named for the other language than the
    // one chosen for the main texts, which the form may send after them.
    let mut texts = std::collections::BTreeMap::new();
    for (name, filename, bytes) in fields {
        match (name.as_str(), filename) {
            ("image", Some(file)) if !bytes.is_empty() => {
                form = form.part("image", reqwest::multipart::Part::bytes(bytes).file_name(file));
            }
            (
                "name"
                | "description"
                | "criteria"
                | "language"
                | "translation_name"
                | "translation_description"
                | "translation_criteria",
                _,
            ) => {
                texts.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    let other = if texts.get("language").map(String::as_str) == Some("ja") {
        "en"
    } else {
        "ja"
    };
    for (name, value) in texts {
        let name = match name.strip_prefix("translation_") {
            Some(field) => format!("{field}_{other}"),
            None => name,
        };
        form = form.text(name, value);
    }
    try_api!(
        req,
        api.post_multipart(
            Service::Issuer,
            &format!("/admin/issuers/{}/badge-classes", *path),
            form
        )
    );
    done("/console", &req)
}

#[derive(Deserialize)]
struct TranslationForm {
    language: String,
    name: String,
    description: String,
    criteria: String,
}

/// A badge class's texts in its other language.
#[post("/console/badge-classes/{id}/translation")]
async fn put_translation(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    form: web::Form<TranslationForm>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let language = if form.language == "en" { "en" } else { "ja" };
    let body = json!({"name": form.name, "description": form.description, "criteria": form.criteria});
    try_api!(
        req,
        api.call(
            Method::PUT,
            Service::Issuer,
            &format!("/admin/badge-classes/{}/translations/{language}", *path),
            Some(&body)
        )
    );
    done("/console", &req)
}

/// How an issuer's pages and certificates look: the form's fields and
/// files become the issuer's JSON (a file left empty keeps the current one).
#[post("/console/issuers/{id}/presentation")]
async fn put_presentation(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    payload: actix_multipart::Multipart,
) -> HttpResponse {
    use base64::Engine;
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let fields: std::collections::BTreeMap<String, Vec<u8>> = match form_fields(payload).await {
        Ok(fields) => fields.into_iter().map(|(name, _, bytes)| (name, bytes)).collect(),
        Err(too_large) => return too_large,
    };
    let text_of = |name: &str| {
        fields
            .get(name)
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let file_of = |name: &str| {
        fields
            .get(name)
            .filter(|b| !b.is_empty())
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
    };
    let mut body = json!({"time_zone": text_of("time_zone")});
    if let Some(logo) = file_of("logo") {
        body["logo_base64"] = json!(logo);
    }
    match text_of("signatory_name") {
        Some(name) => {
            body["signatory"] = json!({
                "name": name,
                "title": text_of("signatory_title"),
                "signature_base64": file_of("signature"),
            });
        }
        None => body["remove_signatory"] = json!(true),
    }
    try_api!(
        req,
        api.call(
            Method::PUT,
            Service::Issuer,
            &format!("/admin/issuers/{}/presentation", *path),
            Some(&body)
        )
    );
    done("/console", &req)
}

/// The issuers the token sees, each with its badge classes.
async fn issuers_with_badges(api: &AdminApi<'_>) -> Result<Vec<IssuerItem>, ApiCallError> {
    let issuers = api.get(Service::Issuer, "/admin/issuers").await?;
    let mut items = Vec::new();
    for issuer in list(&issuers) {
        let id = text(&issuer["id"]);
        let badges = api
            .get(Service::Issuer, &format!("/admin/issuers/{id}/badge-classes"))
            .await?;
        let presentation = api
            .get(Service::Issuer, &format!("/admin/issuers/{id}/presentation"))
            .await?;
        items.push(IssuerItem {
            name: text(&issuer["name"]),
            url: text(&issuer["url"]),
            time_zone: text(&presentation["time_zone"]),
            signatory_name: text(&presentation["signatory_name"]),
            signatory_title: text(&presentation["signatory_title"]),
            has_logo: presentation["logo_bytes"].is_number(),
            has_signature: presentation["signature_bytes"].is_number(),
            badges: list(&badges)
                .iter()
                .map(|b| {
                    // The translation form edits the other language than the class's own.
                    let other = if b["language"] == "ja" { "en" } else { "ja" };
                    let t = &b["translations"][other];
                    BadgeItem {
                        id: text(&b["id"]),
                        name: text(&b["name"]),
                        image_url: text(&b["image_url"]),
                        formats: strings(&b["formats"]).join(", "),
                        other_language: other,
                        translated_name: text(&t["name"]),
                        translated_description: text(&t["description"]),
                        translated_criteria: text(&t["criteria"]),
                    }
                })
                .collect(),
            id,
        });
    }
    Ok(items)
}

/// Every badge class the token sees, as (id, name).
async fn badge_names(api: &AdminApi<'_>) -> Result<Vec<(String, String)>, ApiCallError> {
    Ok(issuers_with_badges(api)
        .await?
        .into_iter()
        .flat_map(|i| i.badges.into_iter().map(|b| (b.id, b.name)))
        .collect())
}

fn rule_item(r: &Value) -> RuleItem {
    RuleItem {
        id: text(&r["id"]),
        name: r["name"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| text(&r["course_id"])),
        badge_name: text(&r["badge_class_name"]),
        courses: strings(&r["course_ids"]).join(", "),
        version: r["version"].as_i64().unwrap_or(1),
        active: r["active"].as_bool().unwrap_or(false),
    }
}

#[get("/console/rules")]
async fn rules_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let rules = try_api!(req, api.get(Service::LmsAdapter, "/admin/rules"));
    let badges = try_api!(req, badge_names(&api));
    page(
        &req,
        RulesPage {
            c: chrome(&req, "rules"),
            prefill: builder::Prefill::empty(),
            rules: list(&rules).iter().map(rule_item).collect(),
            badges,
        }
        .render(),
    )
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A form's JSON, or a page that says why it is not JSON.
fn parse_json(req: &HttpRequest, raw: &str) -> Result<Value, Box<HttpResponse>> {
    serde_json::from_str(raw).map_err(|e| {
        Box::new(refused(
            req,
            ApiCallError::Refused {
                status: 422,
                code: "invalid_json".into(),
                message: format!("the definition is not JSON: {e}"),
            },
        ))
    })
}

/// Creates a rule from the JSON view (when filled) or the builder's rows.
#[post("/console/rules")]
async fn create_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let field = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut body = match field("definition") {
        Some(raw) => match parse_json(&req, &raw) {
            Ok(v) => json!({"definition": v}),
            Err(r) => return *r,
        },
        None => match builder::rule_body(&form) {
            Ok(body) => body,
            Err(message) => return builder_refused(&req, message),
        },
    };
    body["badge_class_id"] = json!(field("badge_class_id").unwrap_or_default());
    if let Some(name) = field("name") {
        body["name"] = json!(name);
    }
    let rule = try_api!(
        req,
        api.call(Method::POST, Service::LmsAdapter, "/admin/rules", Some(&body))
    );
    done(&format!("/console/rules/{}", text(&rule["id"])), &req)
}

#[derive(Deserialize)]
struct RuleQuery {
    learner: Option<String>,
}

async fn rule_view(
    req: &HttpRequest,
    api: &AdminApi<'_>,
    id: Uuid,
    evaluation: Option<Value>,
) -> Result<RulePage, ApiCallError> {
    let rule = api.get(Service::LmsAdapter, &format!("/admin/rules/{id}")).await?;
    let versions = api
        .get(Service::LmsAdapter, &format!("/admin/rules/{id}/versions"))
        .await?;
    let progress = api
        .get(Service::LmsAdapter, &format!("/admin/rules/{id}/progress"))
        .await?;
    let decisions = api
        .get(Service::LmsAdapter, &format!("/admin/decisions?rule_id={id}&limit=200"))
        .await?;
    let lang = language(req);
    let learner = web::Query::<RuleQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.learner.clone())
        .filter(|l| !l.trim().is_empty());
    let explain = match &learner {
        Some(l) => {
            let e = api
                .get(
                    Service::LmsAdapter,
                    &format!("/admin/rules/{id}/explain?learner={}", urlencode(l.trim())),
                )
                .await?;
            Some(ExplainItem {
                learner: text(&e["learner"]),
                awarded: e["awarded"].as_bool().unwrap_or(false),
                met: e["verdict"]["met"].as_i64().unwrap_or(0),
                total: e["verdict"]["total"].as_i64().unwrap_or(0),
                held: reasons::sentences(&e["verdict"]["held"], &e["verdict"]["held_reasons"], lang),
                failed: reasons::sentences(&e["verdict"]["failed"], &e["verdict"]["failed_reasons"], lang),
            })
        }
        None => None,
    };
    let badges = badge_names(api).await?;
    Ok(RulePage {
        c: chrome(req, "rules"),
        rule: rule_item(&rule),
        builder: builder::Prefill::of(&rule["definition"]),
        badges,
        definition: serde_json::to_string_pretty(&rule["definition"]).unwrap_or_default(),
        versions: list(&versions)
            .iter()
            .map(|v| VersionItem {
                version: v["version"].as_i64().unwrap_or(0),
                created_at: text(&v["created_at"]),
                definition: v["definition"].to_string(),
            })
            .collect(),
        progress: list(&progress)
            .iter()
            .map(|p| ProgressItem {
                learner: text(&p["learner_email"]),
                met: p["met"].as_i64().unwrap_or(0),
                total: p["total"].as_i64().unwrap_or(0),
                satisfied: p["satisfied"].as_bool().unwrap_or(false),
                failed: reasons::sentence(&p["detail"]["failed"][0], &p["detail"]["failed_reasons"][0], lang),
            })
            .collect(),
        evaluation: evaluation.map(|e| EvaluationItem {
            would_award: list(&e["would_award"])
                .iter()
                .map(|w| {
                    let held = reasons::sentences(&w["conditions_held"], &w["conditions_held_reasons"], lang);
                    (text(&w["learner"]), held.join(" · "))
                })
                .collect(),
            would_not: list(&e["would_not"])
                .iter()
                .map(|w| {
                    (
                        text(&w["learner"]),
                        reasons::sentence(&w["reason"], &w["reason_code"], lang),
                    )
                })
                .collect(),
            already: strings(&e["already_awarded"]),
            awarded: e["awarded"].as_i64(),
        }),
        explain,
        learner: learner.unwrap_or_default(),
        decisions: list(&decisions)
            .iter()
            .map(|d| decision_item(d, lang))
            .map(|mut d| {
                d.badge_class_id = text(&rule["badge_class_name"]);
                d
            })
            .collect(),
    })
}

#[get("/console/rules/{id}")]
async fn rule_page(req: HttpRequest, state: web::Data<AppState>, path: web::Path<Uuid>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let view = try_api!(req, rule_view(&req, &api, *path, None));
    page(&req, view.render())
}

/// A rule's change: the builder's fields (with `builder`), a JSON
/// `definition`, and/or `active`.
#[post("/console/rules/{id}")]
async fn update_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let field = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let mut body = json!({});
    if field("builder").is_some() {
        body["definition"] = match builder::rule_body(&form) {
            Ok(shaped) => builder::definition_of(shaped),
            Err(message) => return builder_refused(&req, message),
        };
    } else if let Some(raw) = field("definition") {
        body["definition"] = match parse_json(&req, &raw) {
            Ok(v) => v,
            Err(r) => return *r,
        };
    }
    if let Some(active) = field("active") {
        body["active"] = json!(active == "true");
    }
    try_api!(
        req,
        api.call(
            Method::PUT,
            Service::LmsAdapter,
            &format!("/admin/rules/{}", *path),
            Some(&body)
        )
    );
    done(&format!("/console/rules/{}", *path), &req)
}

/// Dry run or apply: the result is shown on the rule's page at once.
#[post("/console/rules/{id}/{action}")]
async fn rule_action(req: HttpRequest, state: web::Data<AppState>, path: web::Path<(Uuid, String)>) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let (id, action) = path.into_inner();
    if action != "dry-run" && action != "apply" {
        return HttpResponse::NotFound().finish();
    }
    let evaluation = try_api!(
        req,
        api.call(
            Method::POST,
            Service::LmsAdapter,
            &format!("/admin/rules/{id}/{action}"),
            None
        )
    );
    let view = try_api!(req, rule_view(&req, &api, id, Some(evaluation)));
    page(&req, view.render())
}

#[derive(Deserialize)]
struct AwardsQuery {
    recipient: Option<String>,
    badge_class_id: Option<String>,
    status: Option<String>,
    /// Where this page starts (paging through the list).
    offset: Option<i64>,
}

/// Items on one page of the console's lists (awards, decisions, dead letters).
const PAGE_SIZE: i64 = 50;

/// The links to the older and the newer page of a list at `base` (a
/// console path), from `offset`, whose current page was `full`, keeping
/// the list's `filters` (`&k=v…`).
fn pager(base: &str, offset: i64, full: bool, filters: &str) -> (Option<String>, Option<String>) {
    let older = full.then(|| format!("{base}?offset={}{filters}", offset + PAGE_SIZE));
    let newer = (offset > 0).then(|| format!("{base}?offset={}{filters}", (offset - PAGE_SIZE).max(0)));
    (older, newer)
}

/// Awards by recipient and/or badge class, optionally by status.
#[get("/console/awards")]
async fn awards_page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<AwardsQuery>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let field = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_string();
    let (recipient, badge_class_id, status) = (
        field(&query.recipient),
        field(&query.badge_class_id),
        field(&query.status),
    );
    let badges = try_api!(req, badge_names(&api));
    // Without a search, the most recent awards: nothing to type first.
    let offset = query.offset.unwrap_or(0).max(0);
    let mut path = format!("/admin/awards?limit={PAGE_SIZE}&offset={offset}");
    let mut filters = String::new();
    for (k, v) in [
        ("recipient", &recipient),
        ("badge_class_id", &badge_class_id),
        ("status", &status),
    ] {
        if !v.is_empty() {
            filters.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    path.push_str(&filters);
    let found = try_api!(req, api.get(Service::Issuer, &path));
    let (older, newer) = pager("/console/awards", offset, found["next_offset"].is_i64(), &filters);
    let awards: Vec<AwardItem> = {
        list(&found["awards"])
            .iter()
            .map(|a| AwardItem {
                id: text(&a["award_id"]),
                recipient: text(&a["recipient"]),
                badge: text(&a["badge_class"]["name"]),
                issuer: text(&a["issuer"]["name"]),
                status: text(&a["status"]),
                issued_on: text(&a["issued_on"]),
                badge_page: text(&a["badge_page"]),
                reason: text(&a["revocation_reason"]),
            })
            .collect()
    };
    let back = format!("/console/awards?{}", req.query_string());
    page(
        &req,
        AwardsPage {
            c: chrome(&req, "awards"),
            searched: !(recipient.is_empty() && badge_class_id.is_empty()),
            older,
            newer,
            recipient,
            badge_class_id,
            status,
            badges,
            back,
            awards,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct AwardActionForm {
    reason: Option<String>,
    /// `yes` when the admin ticked the revocation's confirmation.
    confirm: Option<String>,
    /// The search to return to (a console path).
    back: Option<String>,
}

/// Revoke (with a reason) or resend the award's e-mail.
#[post("/console/awards/{id}/{action}")]
async fn award_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    form: web::Form<AwardActionForm>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    // Only back into the console's own awards page, whatever the form
    // says — decided before the action runs, and never a header-breaking
    // character (a CRLF would otherwise fail the redirect after the revoke).
    let back = nonempty(&form.back)
        .filter(|b| b.starts_with("/console/awards?") && !b.contains("//") && !b.chars().any(char::is_control))
        .map(|b| b.split("&msg=").next().unwrap_or(b).to_string())
        .unwrap_or_else(|| "/console/awards".into());
    let (id, action) = path.into_inner();
    if action == "revoke" && form.confirm.as_deref() != Some("yes") {
        let t = ConsoleTexts::of(language(&req));
        let sep = if back.contains('?') { '&' } else { '?' };
        return redirect(&format!("{back}{sep}msg={}", urlencode(t.confirm_revoke)));
    }
    let (path, body) = match action.as_str() {
        "revoke" => (
            format!("/admin/awards/{id}/revoke"),
            Some(json!({"reason": nonempty(&form.reason).unwrap_or_default()})),
        ),
        "resend" => (format!("/admin/awards/{id}/resend-mail"), None),
        _ => return HttpResponse::NotFound().finish(),
    };
    try_api!(req, api.call(Method::POST, Service::Issuer, &path, body.as_ref()));
    done(&back, &req)
}

fn decision_item(d: &Value, lang: Lang) -> DecisionItem {
    let e = &d["explanation"];
    DecisionItem {
        id: text(&d["id"]),
        learner: text(&d["learner_email"]),
        rule_id: text(&d["rule_id"]),
        rule_version: d["rule_version"].as_i64().unwrap_or(1),
        badge_class_id: text(&d["badge_class_id"]),
        decided_at: text(&d["decided_at"]),
        decided_by: text(&d["decided_by"]),
        status: text(&d["status"]),
        note: text(&d["review_note"]),
        held: reasons::sentences(&e["conditions_held"], &e["conditions_held_reasons"], lang),
        events: list(&e["events"])
            .iter()
            .map(|ev| {
                let mut s = format!(
                    "{} {} {}",
                    text(&ev["source"]),
                    text(&ev["kind"]),
                    text(&ev["course_id"])
                );
                if let Some(g) = ev["grade"].as_f64() {
                    s.push_str(&format!(" ({g:.2})"));
                }
                s
            })
            .collect(),
    }
}

#[derive(Deserialize)]
struct DecisionsQuery {
    learner: Option<String>,
    status: Option<String>,
    offset: Option<i64>,
}

#[get("/console/decisions")]
async fn decisions_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DecisionsQuery>,
) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let learner = query.learner.clone().unwrap_or_default().trim().to_string();
    let status = query.status.clone().unwrap_or_default().trim().to_string();
    let offset = query.offset.unwrap_or(0).max(0);
    let mut filters = String::new();
    if !learner.is_empty() {
        filters.push_str(&format!("&learner={}", urlencode(&learner)));
    }
    if !status.is_empty() {
        filters.push_str(&format!("&status={}", urlencode(&status)));
    }
    let path = format!("/admin/decisions?limit={PAGE_SIZE}&offset={offset}{filters}");
    let decisions = try_api!(req, api.get(Service::LmsAdapter, &path));
    let full = list(&decisions).len() as i64 == PAGE_SIZE;
    let (older, newer) = pager("/console/decisions", offset, full, &filters);
    let names = try_api!(req, badge_names(&api));
    let lang = language(&req);
    let mut items: Vec<DecisionItem> = list(&decisions).iter().map(|d| decision_item(d, lang)).collect();
    for item in &mut items {
        if let Some((_, name)) = names.iter().find(|(id, _)| *id == item.badge_class_id) {
            item.badge_class_id = name.clone();
        }
    }
    page(
        &req,
        DecisionsPage {
            c: chrome(&req, "decisions"),
            learner,
            status,
            decisions: items,
            older,
            newer,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct ReviewForm {
    approve: String,
    note: Option<String>,
}

#[post("/console/decisions/{id}/review")]
async fn review_decision(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    form: web::Form<ReviewForm>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let body = json!({"approve": form.approve == "true", "note": nonempty(&form.note)});
    try_api!(
        req,
        api.call(
            Method::POST,
            Service::LmsAdapter,
            &format!("/admin/decisions/{}/review", *path),
            Some(&body)
        )
    );
    done("/console/decisions?status=pending", &req)
}

#[get("/console/lms")]
async fn lms_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    // Sources and platforms are platform-wide: a tenant token sees none.
    let sources = api
        .get(Service::LmsAdapter, "/admin/webhook-sources")
        .await
        .unwrap_or(Value::Null);
    let platforms = api
        .get(Service::LmsAdapter, "/admin/lti/platforms")
        .await
        .unwrap_or(Value::Null);
    page(
        &req,
        LmsPage {
            c: chrome(&req, "lms"),
            sources: list(&sources)
                .iter()
                .map(|s| {
                    (
                        text(&s["name"]),
                        s["secret_count"].as_i64().unwrap_or(0),
                        text(&s["updated_at"]),
                    )
                })
                .collect(),
            platforms: list(&platforms)
                .iter()
                .map(|p| {
                    (
                        p["name"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| text(&p["issuer"])),
                        text(&p["issuer"]),
                        text(&p["client_id"]),
                        strings(&p["deployment_ids"]).join(", "),
                    )
                })
                .collect(),
            link: None,
        }
        .render(),
    )
}

#[post("/console/lms/registration-links")]
async fn create_registration_link(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let link = try_api!(
        req,
        api.call(
            Method::POST,
            Service::LmsAdapter,
            "/admin/lti/registration-links",
            Some(&json!({}))
        )
    );
    page(
        &req,
        LmsPage {
            c: chrome(&req, "lms"),
            sources: vec![],
            platforms: vec![],
            link: Some(text(&link["url"])),
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct LettersQuery {
    offset: Option<i64>,
}

#[get("/console/dead-letters")]
async fn dead_letters_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LettersQuery>,
) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let offset = query.offset.unwrap_or(0).max(0);
    let path = format!("/admin/dead-letters?status=all&limit={PAGE_SIZE}&offset={offset}");
    let letters = try_api!(req, api.get(Service::Issuer, &path));
    let (older, newer) = pager(
        "/console/dead-letters",
        offset,
        list(&letters).len() as i64 == PAGE_SIZE,
        "",
    );
    page(
        &req,
        DeadLettersPage {
            c: chrome(&req, "dead_letters"),
            older,
            newer,
            letters: list(&letters)
                .iter()
                .map(|l| LetterItem {
                    id: text(&l["id"]),
                    routing_key: text(&l["routing_key"]),
                    queue: text(&l["queue"]),
                    reason: text(&l["reason"]),
                    deaths: l["deaths"].as_i64().unwrap_or(1),
                    received_at: text(&l["received_at"]),
                    body: text(&l["body"]),
                    status: text(&l["status"]),
                })
                .collect(),
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct LetterForm {
    action: String,
}

#[post("/console/dead-letters/{id}")]
async fn dead_letter_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    form: web::Form<LetterForm>,
) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let body = json!({"action": form.action});
    try_api!(
        req,
        api.call(
            Method::POST,
            Service::Issuer,
            &format!("/admin/dead-letters/{}", *path),
            Some(&body)
        )
    );
    done("/console/dead-letters", &req)
}

/// The issuers the token sees, as (id, name).
async fn issuer_names(api: &AdminApi<'_>) -> Result<Vec<(String, String)>, ApiCallError> {
    let issuers = api.get(Service::Issuer, "/admin/issuers").await?;
    Ok(list(&issuers)
        .iter()
        .map(|i| (text(&i["id"]), text(&i["name"])))
        .collect())
}

/// Minting tokens for the people of a tenant, by role.
#[get("/console/team")]
async fn team_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut token = String::new();
    let api = signed_in!(req, state, token);
    let issuers = try_api!(req, issuer_names(&api));
    let tokens = token_items(&api).await;
    page(
        &req,
        TeamPage {
            c: chrome(&req, "team"),
            issuers,
            tokens,
            minted: None,
        }
        .render(),
    )
}

/// The tokens the signed-in admin may manage (none without `tokens:write`).
async fn token_items(api: &AdminApi<'_>) -> Vec<TokenItem> {
    let tokens = api.get(Service::Issuer, "/admin/tokens").await.unwrap_or(Value::Null);
    list(&tokens)
        .iter()
        .map(|t| TokenItem {
            id: text(&t["id"]),
            name: text(&t["name"]),
            role: t["role"]
                .as_str()
                .map_or_else(|| strings(&t["scopes"]).join(" "), str::to_owned),
            created_at: text(&t["created_at"]),
            revoked: !t["revoked_at"].is_null(),
        })
        .collect()
}

#[post("/console/team/{id}/revoke")]
async fn revoke_token(req: HttpRequest, state: web::Data<AppState>, path: web::Path<Uuid>) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    try_api!(
        req,
        api.call(
            Method::DELETE,
            Service::Issuer,
            &format!("/admin/tokens/{}", *path),
            None
        )
    );
    done("/console/team", &req)
}

#[derive(Deserialize)]
struct NewTokenForm {
    name: String,
    role: String,
    issuer_id: Option<String>,
}

#[post("/console/team")]
async fn create_token(req: HttpRequest, state: web::Data<AppState>, form: web::Form<NewTokenForm>) -> HttpResponse {
    let mut token = String::new();
    let api = posted_by_admin!(req, state, token);
    let mut body = json!({"name": form.name.trim(), "role": form.role.trim()});
    if let Some(issuer) = nonempty(&form.issuer_id) {
        body["issuer_id"] = json!(issuer);
    }
    let minted = try_api!(
        req,
        api.call(Method::POST, Service::Issuer, "/admin/tokens", Some(&body))
    );
    let issuers = try_api!(req, issuer_names(&api));
    let tokens = token_items(&api).await;
    // Shown once, on this answer only (the page is never cached).
    page(
        &req,
        TeamPage {
            c: chrome(&req, "team"),
            issuers,
            tokens,
            minted: Some((
                text(&minted["token"]),
                text(&minted["role"]),
                text(&minted["issuer_id"]),
            )),
        }
        .render(),
    )
}
