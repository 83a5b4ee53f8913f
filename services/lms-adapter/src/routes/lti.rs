//! The LTI 1.3 tool: OIDC login initiation, the launch, deep linking, the
//! tool's JWKS, and dynamic registration.
//!
//! Login binds its state to the browser twice over: a cookie (SameSite=None;
//! Secure), and — when the platform offers it (`lti_storage_target`) — the
//! platform's postMessage storage, which works where the browser blocks
//! third-party cookies. The launch accepts either; the state is consumed
//! only once the binding matches, so a page that must first fetch the
//! binding from the platform's storage can still complete.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use akashi_crypto::token::{generate_token, hash_token};
use akashi_model::EmailAddress;
use akashi_runtime::ApiError;
use akashi_runtime::http::RequestId;
use askama::Template;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::models::PlatformRow;
use crate::db::schema::{
    award_decisions, known_awards, known_badge_classes, lms_events, lti_contexts, lti_deep_links, lti_logins,
    lti_platforms, lti_registration_links, rule_progress, rules,
};
use crate::decisions;
use crate::lti::deep_linking::{self, CUSTOM_BADGE_CLASS, CUSTOM_VIEW};
use crate::lti::registration;
use crate::lti::token::{self, Expected, Launch, MessageType, TokenError};
use crate::startup::AppState;

/// How long a login may take from initiation to launch.
const LOGIN_TTL_MINUTES: i64 = 10;
/// How long an instructor may take to choose what to place.
const DEEP_LINK_TTL_MINUTES: i64 = 30;

/// Login initiation parameters (query or form).
#[derive(Debug, Deserialize)]
pub struct LoginParams {
    pub iss: Option<String>,
    pub login_hint: Option<String>,
    pub target_link_uri: Option<String>,
    pub lti_message_hint: Option<String>,
    pub client_id: Option<String>,
    pub lti_deployment_id: Option<String>,
    pub lti_storage_target: Option<String>,
}

fn lti_error(code: &'static str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    tracing::warn!(code, "LTI refused: {message}");
    metrics::counter!("lti_refused_total", "code" => code).increment(1);
    ApiError::BadRequest { code, message }
}

fn unauthorized(code: &str, message: impl std::fmt::Display) -> ApiError {
    tracing::warn!(code, "LTI launch refused: {message}");
    metrics::counter!("lti_refused_total", "code" => code.to_string()).increment(1);
    ApiError::Unauthorized(format!("{code}: {message}"))
}

/// The CSP of the tool's pages. They are shown inside the platform's
/// iframe, so any site may frame them (the platform's origin is not known
/// before the launch is validated); scripts come only from the tool's own
/// files, never inline.
const LTI_PAGE_CSP: &str = "default-src 'self'; img-src 'self' data: http: https:; style-src 'unsafe-inline'; script-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors *";

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", LTI_PAGE_CSP))
        .body(body)
}

/// A script of the tool's pages (they carry no inline script).
fn script(source: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(source)
}

/// The postMessage storage script of the login and launch pages.
#[utoipa::path(responses((status = 200, content_type = "text/javascript")))]
#[get("/lti/storage.js")]
pub async fn storage_script() -> HttpResponse {
    script(include_str!("../../static/lti-storage.js"))
}

/// The script that closes the platform's registration dialog.
#[utoipa::path(responses((status = 200, content_type = "text/javascript")))]
#[get("/lti/registered.js")]
pub async fn registered_script() -> HttpResponse {
    script(include_str!("../../static/lti-registered.js"))
}

fn render(t: &impl Template) -> Result<String, ApiError> {
    t.render().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

fn cookie_name(state: &str) -> String {
    format!("akashi_lti_{}", &state[..state.len().min(16)])
}

async fn find_platform(
    conn: &mut AsyncPgConnection,
    issuer: &str,
    client_id: Option<&str>,
) -> Result<PlatformRow, ApiError> {
    let mut q = lti_platforms::table
        .filter(lti_platforms::issuer.eq(issuer))
        .select(PlatformRow::as_select())
        .into_boxed();
    if let Some(c) = client_id {
        q = q.filter(lti_platforms::client_id.eq(c.to_string()));
    }
    let found: Vec<PlatformRow> = q.limit(2).load(conn).await?;
    match found.len() {
        0 => Err(lti_error(
            "platform_unknown",
            format!(
                "no platform is registered for iss {issuer:?}{}",
                client_id.map(|c| format!(" and client_id {c:?}")).unwrap_or_default()
            ),
        )),
        1 => Ok(found.into_iter().next().expect("one")),
        _ => Err(lti_error(
            "client_id_required",
            "several registrations share this issuer: the login must name its client_id",
        )),
    }
}

#[derive(Template)]
#[template(path = "lti_storage.html")]
struct StoragePage {
    launch_url: String,
    id_token: String,
    state: String,
    mode: &'static str,
    key: String,
    value: String,
    target: String,
    origin: String,
    next: String,
    script_url: String,
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "*".into())
}

async fn login(state: &AppState, params: LoginParams) -> Result<HttpResponse, ApiError> {
    let required = |v: Option<String>, name: &str| {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| lti_error("login_invalid", format!("{name} is required")))
    };
    let iss = required(params.iss, "iss")?;
    let login_hint = required(params.login_hint, "login_hint")?;
    let target = required(params.target_link_uri, "target_link_uri")?;
    if !target.starts_with(&state.public_url) {
        return Err(lti_error(
            "login_invalid",
            format!("target_link_uri must be this tool ({})", state.public_url),
        ));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let platform = find_platform(&mut conn, &iss, params.client_id.as_deref()).await?;
    if let Some(d) = &params.lti_deployment_id
        && !platform.deployment_ids.contains(d)
    {
        return Err(lti_error(
            "deployment_unknown",
            format!("deployment {d:?} is not registered for this platform"),
        ));
    }
    let login_state = generate_token();
    let nonce = generate_token();
    let binding = generate_token();
    let storage_target = params.lti_storage_target.filter(|t| !t.is_empty() && t.len() <= 200);
    diesel::insert_into(lti_logins::table)
        .values((
            lti_logins::state.eq(&login_state),
            lti_logins::nonce.eq(&nonce),
            lti_logins::platform_id.eq(platform.id),
            lti_logins::binding_hash.eq(hash_token(&binding)),
            lti_logins::storage_target.eq(&storage_target),
        ))
        .execute(&mut conn)
        .await?;
    let mut auth = url::Url::parse(&platform.auth_url)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("platform {} has a bad auth URL", platform.id)))?;
    {
        let mut q = auth.query_pairs_mut();
        q.append_pair("scope", "openid")
            .append_pair("response_type", "id_token")
            .append_pair("response_mode", "form_post")
            .append_pair("prompt", "none")
            .append_pair("client_id", &platform.client_id)
            .append_pair("redirect_uri", &format!("{}/lti/launch", state.public_url))
            .append_pair("login_hint", &login_hint)
            .append_pair("state", &login_state)
            .append_pair("nonce", &nonce);
        if let Some(hint) = &params.lti_message_hint {
            q.append_pair("lti_message_hint", hint);
        }
    }
    let cookie = Cookie::build(cookie_name(&login_state), binding.clone())
        .path("/lti")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::None)
        .max_age(actix_web::cookie::time::Duration::minutes(LOGIN_TTL_MINUTES))
        .finish();
    // Old logins are of no use to anyone; sweep them as new ones come.
    diesel::delete(lti_logins::table.filter(lti_logins::created_at.lt(Utc::now() - Duration::hours(1))))
        .execute(&mut conn)
        .await?;
    metrics::counter!("lti_logins_total").increment(1);
    match storage_target {
        None => Ok(HttpResponse::Found()
            .insert_header(("Location", auth.as_str()))
            .insert_header(("Cache-Control", "no-store"))
            .cookie(cookie)
            .finish()),
        Some(target) => {
            let page = StoragePage {
                launch_url: String::new(),
                id_token: String::new(),
                state: String::new(),
                mode: "put",
                key: format!("akashi_state_{login_state}"),
                value: binding.clone(),
                target: target.clone(),
                origin: origin_of(&platform.auth_url),
                next: auth.to_string(),
                script_url: format!("{}/lti/storage.js", state.public_url),
            };
            let mut response = html(render(&page)?);
            response
                .add_cookie(&cookie)
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            Ok(response)
        }
    }
}

/// OIDC third-party login initiation (query parameters).
#[utoipa::path(
    params(
        ("iss" = String, Query, description = "the platform's issuer"),
        ("login_hint" = String, Query, description = "opaque; echoed to the platform"),
        ("target_link_uri" = String, Query, description = "must be this tool's launch URL"),
        ("lti_message_hint" = Option<String>, Query, description = "opaque; echoed unaltered"),
        ("client_id" = Option<String>, Query, description = "needed when several registrations share the issuer"),
        ("lti_deployment_id" = Option<String>, Query),
        ("lti_storage_target" = Option<String>, Query, description = "the platform's postMessage storage frame"),
    ),
    responses(
        (status = 302, description = "to the platform's authorization endpoint, with a cookie binding the state"),
        (status = 200, description = "a page that stores the binding in the platform's postMessage storage, then goes on"),
        (status = 400, description = "unknown platform or deployment, or a missing parameter"),
    ),
)]
#[get("/lti/login")]
pub async fn login_get(state: web::Data<AppState>, params: web::Query<LoginParams>) -> Result<HttpResponse, ApiError> {
    login(&state, params.into_inner()).await
}

/// OIDC third-party login initiation (form post; the same parameters).
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "as the GET's query"),
    responses((status = 302), (status = 200), (status = 400)),
)]
#[post("/lti/login")]
pub async fn login_post(state: web::Data<AppState>, params: web::Form<LoginParams>) -> Result<HttpResponse, ApiError> {
    login(&state, params.into_inner()).await
}

/// The platform's authentication response.
#[derive(Debug, Deserialize)]
pub struct LaunchForm {
    pub id_token: Option<String>,
    pub state: Option<String>,
    /// The login's binding, read back from the platform's postMessage storage.
    pub lti_storage_value: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The launch: validates the id_token and shows the learner their badges
/// and progress (resource link), or lets an instructor place a link (deep
/// linking).
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`id_token`, `state`, and `lti_storage_value` when the binding came from the platform's storage"),
    responses(
        (status = 200, description = "the learner's badges and progress, or the deep linking chooser (HTML)", content_type = "text/html"),
        (status = 401, description = "a refused state or id_token; the message starts with its code (state_invalid, state_unbound, id_token_…)"),
    ),
)]
#[post("/lti/launch")]
pub async fn launch_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LaunchForm>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    if let Some(error) = form.error {
        return Err(unauthorized(
            "platform_error",
            format!("{error}: {}", form.error_description.unwrap_or_default()),
        ));
    }
    let login_state = form
        .state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized("state_invalid", "state is missing"))?;
    let id_token = form
        .id_token
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthorized("id_token_malformed", "id_token is missing"))?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let fresh_after = Utc::now() - Duration::minutes(LOGIN_TTL_MINUTES);
    let login: Option<(String, Uuid, String, Option<String>)> = lti_logins::table
        .find(&login_state)
        .filter(
            lti_logins::used_at
                .is_null()
                .and(lti_logins::created_at.gt(fresh_after)),
        )
        .select((
            lti_logins::nonce,
            lti_logins::platform_id,
            lti_logins::binding_hash,
            lti_logins::storage_target,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let (nonce, platform_id, binding_hash, storage_target) =
        login.ok_or_else(|| unauthorized("state_invalid", "unknown, used or expired state"))?;
    let presented = req
        .cookie(&cookie_name(&login_state))
        .map(|c| c.value().to_string())
        .or(form.lti_storage_value.filter(|v| !v.is_empty()));
    let platform: PlatformRow = lti_platforms::table
        .find(platform_id)
        .select(PlatformRow::as_select())
        .first(&mut conn)
        .await?;
    match presented {
        Some(binding) if akashi_crypto::token::constant_time_eq(&hash_token(&binding), &binding_hash) => {}
        Some(_) => return Err(unauthorized("state_unbound", "the state belongs to another browser")),
        None => match storage_target {
            // No cookie came (blocked in the iframe): fetch the binding from the platform's storage.
            Some(target) => {
                let page = StoragePage {
                    launch_url: format!("{}/lti/launch", state.public_url),
                    id_token,
                    state: login_state.clone(),
                    mode: "get",
                    key: format!("akashi_state_{login_state}"),
                    value: String::new(),
                    target: target.clone(),
                    origin: origin_of(&platform.auth_url),
                    next: String::new(),
                    script_url: format!("{}/lti/storage.js", state.public_url),
                };
                return Ok(html(render(&page)?));
            }
            None => {
                return Err(unauthorized(
                    "state_unbound",
                    "no cookie binds this state to the browser",
                ));
            }
        },
    }
    let consumed = diesel::update(
        lti_logins::table
            .find(&login_state)
            .filter(lti_logins::used_at.is_null()),
    )
    .set(lti_logins::used_at.eq(diesel::dsl::now))
    .execute(&mut conn)
    .await?;
    if consumed == 0 {
        return Err(unauthorized("state_invalid", "the state was already used"));
    }
    let kid = token::header_kid(&id_token).map_err(|e| unauthorized(e.code(), &e))?;
    let key = state
        .jwks
        .key(&platform.jwks_url, &kid)
        .await
        .map_err(|e| unauthorized("id_token_key", e))?;
    let launch = token::validate(
        &id_token,
        &key,
        &Expected {
            issuer: &platform.issuer,
            client_id: &platform.client_id,
            deployment_ids: &platform.deployment_ids,
            nonce: &nonce,
            now: Utc::now().timestamp(),
        },
    )
    .map_err(|e: TokenError| unauthorized(e.code(), &e))?;
    metrics::counter!("lti_launches_total").increment(1);
    let lang = language(launch.locale.as_deref(), &req);
    let correlation = request_id.0.clone();
    let awards = remember_launch(&mut conn, &platform, &launch, &correlation).await?;
    if awards > 0 {
        state.relay.wake();
    }
    match launch.message_type {
        MessageType::ResourceLink => resource_link_page(&state, &mut conn, platform.id, &launch, lang).await,
        MessageType::DeepLinking => deep_link_page(&state, &mut conn, &platform, &launch, lang).await,
    }
}

/// Teaches the learner directory who launched, and remembers the context's
/// service endpoints. Returns the awards released from held events.
async fn remember_launch(
    conn: &mut AsyncPgConnection,
    platform: &PlatformRow,
    launch: &Launch,
    correlation: &str,
) -> Result<usize, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut awards = 0;
        if let (Some(sub), Some(email)) = (
            &launch.sub,
            launch.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()),
        ) {
            let name = launch.name.as_deref();
            awards += decisions::learn_identity(
                conn,
                &format!("lti:{}", platform.id),
                sub,
                &email,
                name,
                "lti",
                correlation,
            )
            .await?;
            if let Some(source) = &platform.user_source {
                awards += decisions::learn_identity(conn, source, sub, &email, name, "lti", correlation).await?;
            }
            // Canvas's `sub` is not its user id; the registration asks for
            // `canvas_user_id=$Canvas.user.id` so the two can be joined.
            if let Some(canvas_id) = launch
                .custom
                .get("canvas_user_id")
                .and_then(Value::as_str)
                .filter(|v| !v.starts_with('$'))
            {
                awards +=
                    decisions::learn_identity(conn, "canvas", canvas_id, &email, name, "lti", correlation).await?;
            }
            decisions::add_roles(conn, &email, &launch.roles).await?;
        }
        if let Some(context) = &launch.context {
            diesel::insert_into(lti_contexts::table)
                .values((
                    lti_contexts::platform_id.eq(platform.id),
                    lti_contexts::context_id.eq(&context.id),
                    lti_contexts::title.eq(&context.title),
                    lti_contexts::label.eq(&context.label),
                    lti_contexts::lineitems_url.eq(&launch.lineitems_url),
                    lti_contexts::ags_scopes.eq(&launch.ags_scopes),
                    lti_contexts::memberships_url.eq(&launch.memberships_url),
                ))
                .on_conflict((lti_contexts::platform_id, lti_contexts::context_id))
                .do_update()
                .set((
                    lti_contexts::title.eq(excluded(lti_contexts::title)),
                    lti_contexts::label.eq(excluded(lti_contexts::label)),
                    lti_contexts::lineitems_url.eq(diesel::dsl::sql::<
                        diesel::sql_types::Nullable<diesel::sql_types::Text>,
                    >(
                        "COALESCE(excluded.lineitems_url, lti_contexts.lineitems_url)"
                    )),
                    lti_contexts::ags_scopes.eq(excluded(lti_contexts::ags_scopes)),
                    lti_contexts::memberships_url.eq(diesel::dsl::sql::<
                        diesel::sql_types::Nullable<diesel::sql_types::Text>,
                    >(
                        "COALESCE(excluded.memberships_url, lti_contexts.memberships_url)",
                    )),
                    lti_contexts::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
        }
        Ok(awards)
    })
    .await
}

/// `ja` or `en`: the launch's locale, else the browser's.
fn language(locale: Option<&str>, req: &HttpRequest) -> &'static str {
    let accept = req.headers().get("Accept-Language").and_then(|v| v.to_str().ok());
    akashi_model::Lang::negotiate(locale, accept).tag()
}

/// The page's words.
pub struct Words {
    pub title: &'static str,
    pub hello: &'static str,
    pub your_badges: &'static str,
    pub no_badges: &'static str,
    pub revoked: &'static str,
    pub progress: &'static str,
    pub no_rules: &'static str,
    pub earned: &'static str,
    pub not_yet: &'static str,
    pub place: &'static str,
    pub my_badges_link: &'static str,
    pub place_button: &'static str,
    pub open_backpack: &'static str,
}

const EN: Words = Words {
    title: "My badges",
    hello: "Signed in as",
    your_badges: "Badges you have earned",
    no_badges: "No badges yet.",
    revoked: "revoked",
    progress: "Progress in this course",
    no_rules: "No badge is awarded for this course yet.",
    earned: "earned",
    not_yet: "not yet",
    place: "Place a badge link in this course",
    my_badges_link: "“My badges” — each learner sees their own badges and progress",
    place_button: "Place",
    open_backpack: "Open my backpack (share, download, collections)",
};

const JA: Words = Words {
    title: "わたしのバッジ",
    hello: "サインイン中:",
    your_badges: "獲得したバッジ",
    no_badges: "まだバッジはありません。",
    revoked: "取り消し済み",
    progress: "このコースの進捗",
    no_rules: "このコースで授与されるバッジはまだありません。",
    earned: "獲得済み",
    not_yet: "未達成",
    place: "このコースにバッジへのリンクを配置",
    my_badges_link: "「わたしのバッジ」— 学習者ごとに自分のバッジと進捗を表示",
    place_button: "配置する",
    open_backpack: "バックパックを開く（共有・ダウンロード・コレクション）",
};

fn words(lang: &str) -> &'static Words {
    if lang == "ja" { &JA } else { &EN }
}

struct BadgeLine {
    award_id: Uuid,
    name: String,
    page: String,
    issued_on: String,
    revoked: bool,
}

struct ProgressLine {
    badge_class_id: Uuid,
    badge_name: String,
    earned: bool,
    detail: String,
    percent: Option<i32>,
}

/// Where and what the launch page posts to sign the learner in on host.
struct BackpackHandOff {
    action: String,
    token: String,
}

#[derive(Template)]
#[template(path = "lti_launch.html")]
struct LaunchPage<'a> {
    lang: &'a str,
    t: &'a Words,
    /// The signed hand-off to the learner's backpack on host, sent by a
    /// form POST (a link — a GET — would sign in whoever prefetched it).
    backpack: Option<BackpackHandOff>,
    learner_name: Option<String>,
    course_title: Option<String>,
    badges: Vec<BadgeLine>,
    progress: Vec<ProgressLine>,
}

/// The course ids a launch's context may be named by in rules.
fn course_ids(launch: &Launch) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(c) = &launch.context {
        ids.push(c.id.clone());
        ids.extend(c.label.clone());
    }
    for key in ["course_id", "canvas_course_id"] {
        if let Some(v) = launch
            .custom
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.starts_with('$'))
        {
            ids.push(v.to_string());
        }
    }
    ids
}

async fn resource_link_page(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    platform_id: Uuid,
    launch: &Launch,
    lang: &'static str,
) -> Result<HttpResponse, ApiError> {
    let t = words(lang);
    // Platforms that withhold e-mail still name the learner by `sub`, which
    // the directory may know from a roster sync.
    let email = match launch.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) {
        Some(e) => Some(e),
        None => match &launch.sub {
            Some(sub) => decisions::lookup(conn, &format!("lti:{platform_id}"), sub)
                .await?
                .map(|(e, _)| e),
            None => None,
        },
    };
    let mut badges = Vec::new();
    let mut progress = Vec::new();
    if let Some(email) = &email {
        let rows: Vec<(Uuid, String, String, chrono::DateTime<Utc>, bool)> = known_awards::table
            .inner_join(known_badge_classes::table)
            .filter(known_awards::learner_email.eq(email.as_str()))
            .order(known_awards::issued_on.desc())
            .select((
                known_awards::award_id,
                known_badge_classes::name,
                known_awards::badge_page,
                known_awards::issued_on,
                known_awards::revoked,
            ))
            .load(conn)
            .await?;
        badges = rows
            .into_iter()
            .map(|(award_id, name, page, issued_on, revoked)| BadgeLine {
                award_id,
                name,
                page: format!("{page}?lang={lang}"),
                issued_on: issued_on.format("%Y-%m-%d").to_string(),
                revoked,
            })
            .collect();
        let only_badge = launch
            .custom
            .get(CUSTOM_BADGE_CLASS)
            .and_then(Value::as_str)
            .and_then(|b| Uuid::parse_str(b).ok());
        let mut q = rules::table
            .inner_join(known_badge_classes::table)
            .filter(
                rules::course_ids
                    .overlaps_with(course_ids(launch))
                    .and(rules::active.eq(true)),
            )
            .select((
                rules::id,
                rules::badge_class_id,
                known_badge_classes::name,
                rules::course_id,
            ))
            .into_boxed();
        if let Some(b) = only_badge {
            q = q.filter(rules::badge_class_id.eq(b));
        }
        let course_rules: Vec<(Uuid, Uuid, String, String)> = q.load(conn).await?;
        for (rule_id, badge_class_id, badge_name, course) in course_rules {
            let earned: i64 = award_decisions::table
                .filter(
                    award_decisions::rule_id
                        .eq(rule_id)
                        .and(award_decisions::learner_email.eq(email.as_str())),
                )
                .count()
                .get_result(conn)
                .await?;
            let latest: Option<(Option<i32>, Option<i32>)> = lms_events::table
                .filter(
                    lms_events::learner_email
                        .eq(email.as_str())
                        .and(lms_events::course_id.eq(&course))
                        .and(lms_events::progress_total.is_not_null()),
                )
                .order(lms_events::received_at.desc())
                .select((lms_events::progress_done, lms_events::progress_total))
                .first(conn)
                .await
                .optional()?;
            // The LMS's own progress report when it sends one; else the
            // rule's conditions met so far (kept on every event).
            let conditions: Option<(i32, i32)> = rule_progress::table
                .find((rule_id, email.as_str()))
                .select((rule_progress::met, rule_progress::total))
                .first(conn)
                .await
                .optional()?;
            let (detail, percent) = match (latest, conditions) {
                (Some((Some(done), Some(total))), _) | (_, Some((done, total))) if total > 0 => {
                    (format!("{done} / {total}"), Some((done * 100 / total).clamp(0, 100)))
                }
                _ => (t.not_yet.to_string(), None),
            };
            progress.push(ProgressLine {
                badge_class_id,
                badge_name,
                earned: earned > 0,
                detail,
                percent,
            });
        }
    }
    // The learner's backpack, one click away: a hand-off host accepts once,
    // within two minutes, signed with the tool's key.
    let backpack_url = match &email {
        Some(e) => {
            let key = state.tool_keys.active(conn).await?;
            let now = Utc::now().timestamp();
            let token = key
                .signer
                .sign_jws(
                    Some(&key.kid),
                    Some("JWT"),
                    &json!({"iss": state.public_url, "aud": state.host_url, "sub": e.as_str(),
                            "iat": now, "exp": now + 120, "jti": Uuid::new_v4().to_string()}),
                )
                .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            Some(BackpackHandOff {
                action: format!("{}/signin/lti", state.host_url),
                token,
            })
        }
        None => None,
    };
    let page = LaunchPage {
        lang,
        t,
        backpack: backpack_url,
        learner_name: launch.name.clone().or_else(|| email.map(|e| e.to_string())),
        course_title: launch.context.as_ref().and_then(|c| c.title.clone()),
        badges,
        progress,
    };
    Ok(html(render(&page)?))
}

#[derive(Template)]
#[template(path = "lti_deep_link.html")]
struct DeepLinkPage<'a> {
    lang: &'a str,
    t: &'a Words,
    action: String,
    session: String,
    badge_classes: Vec<(Uuid, String)>,
}

async fn deep_link_page(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    platform: &PlatformRow,
    launch: &Launch,
    lang: &'static str,
) -> Result<HttpResponse, ApiError> {
    let settings = launch
        .deep_linking
        .as_ref()
        .ok_or_else(|| lti_error("deep_linking_invalid", "no deep linking settings"))?;
    if !settings.accept_types.is_empty() && !settings.accept_types.iter().any(|t| t == "ltiResourceLink") {
        return Err(lti_error(
            "deep_linking_unsupported",
            "the platform does not accept ltiResourceLink items, the only kind Akashi places",
        ));
    }
    let session = generate_token();
    diesel::insert_into(lti_deep_links::table)
        .values((
            lti_deep_links::id.eq(&session),
            lti_deep_links::platform_id.eq(platform.id),
            lti_deep_links::deployment_id.eq(&launch.deployment_id),
            lti_deep_links::return_url.eq(&settings.return_url),
            lti_deep_links::data.eq(&settings.data),
            lti_deep_links::context_id.eq(launch.context.as_ref().map(|c| c.id.clone())),
        ))
        .execute(conn)
        .await?;
    // A tenant's platform offers only that tenant's badges.
    let mut q = known_badge_classes::table
        .order(known_badge_classes::name)
        .select((known_badge_classes::id, known_badge_classes::name))
        .limit(500)
        .into_boxed();
    if let Some(tenant) = platform.tenant_issuer_id {
        q = q.filter(known_badge_classes::issuer_id.eq(tenant));
    }
    let badge_classes: Vec<(Uuid, String)> = q.load(conn).await?;
    let page = DeepLinkPage {
        lang,
        t: words(lang),
        action: format!("{}/lti/deep-link", state.public_url),
        session,
        badge_classes,
    };
    Ok(html(render(&page)?))
}

/// The instructor's choice on the deep linking page.
#[derive(Debug, Deserialize)]
pub struct DeepLinkChoice {
    pub session: String,
    /// `my_badges`, or a badge class id.
    pub choice: String,
}

#[derive(Template)]
#[template(path = "lti_autopost.html")]
struct AutoPost {
    action: String,
    fields: Vec<(String, String)>,
}

/// Signs the `LtiDeepLinkingResponse` and posts it back to the platform.
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`session`, `choice` (`my_badges` or a badge class id)"),
    responses(
        (status = 200, description = "a page that posts the signed response (`JWT`) to the platform", content_type = "text/html"),
        (status = 401, description = "unknown, used or expired session"),
        (status = 404, description = "no such badge class (for this platform's tenant)"),
    ),
)]
#[post("/lti/deep-link")]
pub async fn deep_link_post(
    state: web::Data<AppState>,
    form: web::Form<DeepLinkChoice>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let fresh_after = Utc::now() - Duration::minutes(DEEP_LINK_TTL_MINUTES);
    let session: Option<(Uuid, String, String, Option<String>)> = diesel::update(
        lti_deep_links::table.find(&form.session).filter(
            lti_deep_links::used_at
                .is_null()
                .and(lti_deep_links::created_at.gt(fresh_after)),
        ),
    )
    .set(lti_deep_links::used_at.eq(diesel::dsl::now))
    .returning((
        lti_deep_links::platform_id,
        lti_deep_links::deployment_id,
        lti_deep_links::return_url,
        lti_deep_links::data,
    ))
    .get_result(&mut conn)
    .await
    .optional()?;
    let (platform_id, deployment_id, return_url, data) =
        session.ok_or_else(|| unauthorized("deep_link_session_invalid", "unknown, used or expired session"))?;
    let platform: PlatformRow = lti_platforms::table
        .find(platform_id)
        .select(PlatformRow::as_select())
        .first(&mut conn)
        .await?;
    let launch_url = format!("{}/lti/launch", state.public_url);
    let item = if form.choice == "my_badges" {
        deep_linking::resource_link(
            "My badges / わたしのバッジ",
            &launch_url,
            json!({ CUSTOM_VIEW: "my_badges" }),
        )
    } else {
        let id = Uuid::parse_str(&form.choice)
            .map_err(|_| ApiError::invalid_field("choice: my_badges or a badge class id"))?;
        let found: Option<(String, Uuid)> = known_badge_classes::table
            .find(id)
            .select((known_badge_classes::name, known_badge_classes::issuer_id))
            .first(&mut conn)
            .await
            .optional()?;
        let name = match found {
            Some((name, owner)) if platform.tenant_issuer_id.is_none_or(|t| t == owner) => name,
            _ => return Err(ApiError::NotFound("no such badge class".into())),
        };
        deep_linking::resource_link(
            &name,
            &launch_url,
            json!({ CUSTOM_VIEW: "badge", CUSTOM_BADGE_CLASS: id.to_string() }),
        )
    };
    let claims = deep_linking::response_claims(
        &platform,
        &deployment_id,
        data.as_deref(),
        vec![item],
        Utc::now().timestamp(),
    );
    let key = state.tool_keys.active(&mut conn).await?;
    let jwt = key
        .signer
        .sign_jws(Some(&key.kid), Some("JWT"), &claims)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    Ok(html(render(&AutoPost {
        action: return_url,
        fields: vec![("JWT".into(), jwt)],
    })?))
}

/// The tool's public keys (the active one and those retired in the last 30 days).
#[utoipa::path(responses((status = 200, description = "a JWKS")))]
#[get("/lti/jwks")]
pub async fn tool_jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let set = state.tool_keys.jwks(&mut conn).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(set))
}

/// Dynamic registration parameters.
#[derive(Debug, Deserialize)]
pub struct RegisterParams {
    pub openid_configuration: Option<String>,
    pub registration_token: Option<String>,
    /// The one-time token of the link an admin made (`POST /admin/lti/registration-links`).
    pub akashi_token: Option<String>,
}

#[derive(Template)]
#[template(path = "lti_registered.html")]
struct Registered {
    issuer: String,
    client_id: String,
    script_url: String,
}

/// LTI Dynamic Registration: the platform opens this URL; Akashi registers
/// itself and keeps the platform.
#[utoipa::path(
    params(
        ("openid_configuration" = String, Query, description = "the platform's OpenID configuration URL"),
        ("registration_token" = Option<String>, Query, description = "the platform's token for its registration endpoint"),
        ("akashi_token" = String, Query, description = "from POST /admin/lti/registration-links"),
    ),
    responses(
        (status = 200, description = "registered; the page tells the platform to close it", content_type = "text/html"),
        (status = 400, description = "the platform's configuration or registration failed"),
        (status = 401, description = "unknown, used or expired registration link"),
    ),
)]
#[get("/lti/register")]
pub async fn register_get(
    state: web::Data<AppState>,
    params: web::Query<RegisterParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let token = params.akashi_token.ok_or_else(|| {
        unauthorized(
            "registration_token_invalid",
            "akashi_token is missing: make a link with POST /admin/lti/registration-links",
        )
    })?;
    let config_url = params
        .openid_configuration
        .ok_or_else(|| lti_error("registration_invalid", "openid_configuration is required"))?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    // The link is spent before anything is fetched: a failed attempt (or a
    // probe of the operator's network) cannot be repeated with the same link.
    let link: Option<(Option<String>, Option<Uuid>)> = diesel::update(
        lti_registration_links::table.find(hash_token(&token)).filter(
            lti_registration_links::used_at
                .is_null()
                .and(lti_registration_links::expires_at.gt(Utc::now())),
        ),
    )
    .set(lti_registration_links::used_at.eq(diesel::dsl::now))
    .returning((
        lti_registration_links::user_source,
        lti_registration_links::tenant_issuer_id,
    ))
    .get_result(&mut conn)
    .await
    .optional()?;
    let (user_source, tenant_issuer_id) = link.ok_or_else(|| {
        unauthorized(
            "registration_token_invalid",
            "unknown, used or expired registration link",
        )
    })?;
    let config = registration::fetch_configuration(&state.http, &config_url)
        .await
        .map_err(|e| lti_error("registration_failed", e.to_string()))?;
    let registered = registration::register(
        &state.http,
        &config.registration_endpoint,
        params.registration_token.as_deref(),
        &registration::tool_registration(&state.public_url),
    )
    .await
    .map_err(|e| lti_error("registration_failed", e.to_string()))?;
    let user_source = user_source.or_else(|| config.product_family().filter(|p| p == "moodle" || p == "canvas"));
    let platform_id = Uuid::now_v7();
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::update(lti_registration_links::table.find(hash_token(&token)))
            .set(lti_registration_links::platform_id.eq(platform_id))
            .execute(conn)
            .await?;
        diesel::insert_into(lti_platforms::table)
            .values((
                lti_platforms::id.eq(platform_id),
                lti_platforms::issuer.eq(&config.issuer),
                lti_platforms::client_id.eq(&registered.client_id),
                lti_platforms::deployment_ids.eq(registered.deployment_id.iter().cloned().collect::<Vec<_>>()),
                lti_platforms::jwks_url.eq(&config.jwks_uri),
                lti_platforms::auth_url.eq(&config.authorization_endpoint),
                lti_platforms::token_url.eq(&config.token_endpoint),
                lti_platforms::user_source.eq(&user_source),
                lti_platforms::name.eq(config.product_family()),
                lti_platforms::tenant_issuer_id.eq(tenant_issuer_id),
            ))
            .execute(conn)
            .await
            .map_err(|e| {
                if akashi_db::is_unique_violation(&e) {
                    ApiError::Conflict("this issuer and client_id are already registered".into())
                } else {
                    e.into()
                }
            })?;
        Ok(())
    })
    .await?;
    tracing::info!(%platform_id, issuer = %config.issuer, client_id = %registered.client_id, "LTI platform registered dynamically");
    Ok(html(render(&Registered {
        issuer: config.issuer,
        client_id: registered.client_id,
        script_url: format!("{}/lti/registered.js", state.public_url),
    })?))
}
