//! Earners' side of host: sign-in by e-mail link, the backpack (every badge
//! issued to the earner's address, private until made public), collections
//! with public URLs, and the public profile.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use akashi_bus::{Envelope, outbox};
use akashi_crypto::token::{generate_token, hash_token};
use akashi_model::EmailAddress;
use akashi_model::messages::{EarnerSignInRequested, EventObserved};
use akashi_runtime::ApiError;
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{
    backpack_visibility, collection_items, collections, earner_credentials, earner_sessions, earner_signins, earners,
    hosted_assertions, hosted_badge_classes, hosted_issuers, revocations,
};
use crate::earner::{self, Earner, SESSION_COOKIE, SESSION_DAYS, language, safe_next};
use crate::startup::AppState;

/// How long a sign-in link is valid, minutes.
pub const SIGNIN_MINUTES: i64 = 15;
/// Sign-in links sent to one address per hour at most.
const SIGNINS_PER_HOUR: i64 = 5;
/// Sign-in links one client address may ask for in an hour (for any
/// addresses): bounds the mail one client can make Akashi send.
const SIGNINS_PER_CLIENT_PER_HOUR: i64 = 30;

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

fn render(t: &impl Template) -> Result<String, ApiError> {
    t.render().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location)).finish()
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    lang: &'a str,
    sent: bool,
    next: Option<String>,
}

/// `?next=` after signing in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// The sign-in form.
#[utoipa::path(responses((status = 200, content_type = "text/html")))]
#[get("/signin")]
pub async fn signin_form(req: HttpRequest, query: web::Query<NextQuery>) -> Result<HttpResponse, ApiError> {
    Ok(html(render(&SignInPage {
        lang: language(&req),
        sent: false,
        next: safe_next(query.next.as_deref()),
    })?))
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInForm {
    pub email: String,
    pub next: Option<String>,
    pub lang: Option<String>,
}

/// Mails a one-time sign-in link. The answer is the same whether or not
/// the address has badges (no one learns who holds badges here).
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`email`, `next`?, `lang`?"),
    responses((status = 200, content_type = "text/html"), (status = 422, description = "not an e-mail address")),
)]
#[post("/signin")]
pub async fn signin_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ApiError> {
    earner::check_origin(&req, &state.public_base)?;
    let email = EmailAddress::parse(&form.email).map_err(|e| ApiError::invalid_field(format!("email: {e}")))?;
    let lang = match form.lang.as_deref() {
        Some("ja") => "ja",
        Some("en") => "en",
        _ => language(&req),
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mailbox = email.mailbox();
    // The peer's address, not a forwarded header the client can write.
    let client_ip = req.peer_addr().map(|a| a.ip().to_string());
    let hour_ago = Utc::now() - Duration::hours(1);
    let to_mailbox: i64 = earner_signins::table
        .filter(
            earner_signins::mailbox
                .eq(&mailbox)
                .and(earner_signins::via.eq("email"))
                .and(earner_signins::created_at.gt(hour_ago)),
        )
        .count()
        .get_result(&mut conn)
        .await?;
    let from_client: i64 = match &client_ip {
        Some(ip) => {
            earner_signins::table
                .filter(
                    earner_signins::client_ip
                        .eq(ip)
                        .and(earner_signins::created_at.gt(hour_ago)),
                )
                .count()
                .get_result(&mut conn)
                .await?
        }
        None => 0,
    };
    // The answer is the same either way: no one learns what was throttled.
    if to_mailbox >= SIGNINS_PER_HOUR || from_client >= SIGNINS_PER_CLIENT_PER_HOUR {
        tracing::warn!(
            to_mailbox,
            from_client,
            "sign-in links over {SIGNINS_PER_HOUR}/h for one mailbox or {SIGNINS_PER_CLIENT_PER_HOUR}/h from one client; not sending another"
        );
        metrics::counter!("host_signin_throttled_total").increment(1);
    } else {
        let token = generate_token();
        let expires_at = Utc::now() + Duration::minutes(SIGNIN_MINUTES);
        let next = safe_next(form.next.as_deref());
        let link = format!("{}/signin/{token}?lang={lang}", state.public_base);
        conn.transaction::<_, ApiError, _>(async |conn| {
            diesel::insert_into(earner_signins::table)
                .values((
                    earner_signins::token_hash.eq(hash_token(&token)),
                    earner_signins::email.eq(email.as_str()),
                    earner_signins::next_url.eq(&next),
                    earner_signins::expires_at.eq(expires_at),
                    earner_signins::mailbox.eq(&mailbox),
                    earner_signins::client_ip.eq(&client_ip),
                ))
                .execute(conn)
                .await?;
            let message = EarnerSignInRequested {
                request_id: Uuid::now_v7(),
                email: email.clone(),
                link,
                lang: lang.to_string(),
                expires_at,
            };
            outbox::enqueue(conn, &Envelope::new(crate::SERVICE, message, None))
                .await
                .map_err(ApiError::internal)?;
            Ok(())
        })
        .await?;
        state.relay.wake();
        metrics::counter!("host_signin_links_total").increment(1);
    }
    Ok(html(render(&SignInPage {
        lang,
        sent: true,
        next: None,
    })?))
}

#[derive(Template)]
#[template(path = "signin_confirm.html")]
struct ConfirmPage<'a> {
    lang: &'a str,
    token: &'a str,
}

/// The mailed link opens a page with a button: a mail scanner that
/// follows links cannot use it up.
#[utoipa::path(responses((status = 200, content_type = "text/html")))]
#[get("/signin/{token}")]
pub async fn signin_confirm(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(html(render(&ConfirmPage {
        lang: language(&req),
        token: &path,
    })?))
}

fn new_slug() -> String {
    generate_token()
        .trim_start_matches(akashi_crypto::token::TOKEN_PREFIX)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Uses a sign-in link: opens a session (30 days) and goes to the backpack
/// (or where the earner was going).
#[utoipa::path(responses((status = 303, description = "signed in"), (status = 401, description = "unknown, used or expired link")))]
#[post("/signin/{token}")]
pub async fn signin_complete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Only the confirmation page of this site signs in: a cross-site page
    // must not sign a visitor into an account of the attacker's choosing.
    earner::check_origin(&req, &state.public_base)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let used: Option<(String, Option<String>)> = diesel::update(
        earner_signins::table.find(hash_token(&path)).filter(
            earner_signins::used_at
                .is_null()
                .and(earner_signins::expires_at.gt(Utc::now())),
        ),
    )
    .set(earner_signins::used_at.eq(diesel::dsl::now))
    .returning((earner_signins::email, earner_signins::next_url))
    .get_result(&mut conn)
    .await
    .optional()?;
    let (email, next) = used.ok_or_else(|| {
        ApiError::Unauthorized("signin_link_invalid: this sign-in link is unknown, used or expired".into())
    })?;
    let cookie = open_session(&mut conn, &state, &email).await?;
    metrics::counter!("host_signins_total", "via" => "email").increment(1);
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", next.unwrap_or_else(|| "/backpack".into())))
        .cookie(cookie)
        .finish())
}

/// Finds or creates the earner of `email` and opens a session: the cookie to set.
async fn open_session(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    email: &str,
) -> Result<Cookie<'static>, ApiError> {
    diesel::insert_into(earners::table)
        .values((
            earners::id.eq(Uuid::now_v7()),
            earners::email.eq(email),
            earners::profile_slug.eq(new_slug()),
        ))
        .on_conflict(earners::email)
        .do_nothing()
        .execute(conn)
        .await?;
    let earner_id: Uuid = earners::table
        .filter(earners::email.eq(email))
        .select(earners::id)
        .first(conn)
        .await?;
    claim_badges(conn, email).await?;
    state.relay.wake();
    let session = generate_token();
    diesel::insert_into(earner_sessions::table)
        .values((
            earner_sessions::token_hash.eq(hash_token(&session)),
            earner_sessions::earner_id.eq(earner_id),
            earner_sessions::expires_at.eq(Utc::now() + Duration::days(SESSION_DAYS)),
        ))
        .execute(conn)
        .await?;
    Ok(Cookie::build(SESSION_COOKIE, session)
        .path("/")
        .http_only(true)
        .secure(state.public_base.starts_with("https://"))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(SESSION_DAYS))
        .finish())
}

/// Marks the badges of `email` that no sign-in has seen yet as claimed, and
/// announces each (`event.observed`, `badge.claimed`) for the issuer's
/// webhook subscribers, in one transaction: each is announced once.
async fn claim_badges(conn: &mut AsyncPgConnection, email: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    conn.transaction::<_, ApiError, _>(async |conn| {
        let claimed: Vec<Uuid> = diesel::update(
            hosted_assertions::table
                .filter(hosted_assertions::recipient_email.eq(email))
                .filter(hosted_assertions::claimed_at.is_null()),
        )
        .set(hosted_assertions::claimed_at.eq(now))
        .returning(hosted_assertions::id)
        .get_results(conn)
        .await?;
        for award_id in claimed {
            let message = Envelope::new(
                crate::SERVICE,
                EventObserved {
                    event_type: "badge.claimed".into(),
                    award_id: Some(award_id),
                    issuer_id: None,
                    badge_class_id: None,
                    subject: None,
                    occurred_at: now,
                    data: serde_json::json!({"claimed_at": now, "claimed_through": "backpack"}),
                    recipient_email: None,
                },
                None,
            );
            outbox::enqueue(conn, &message).await.map_err(ApiError::internal)?;
        }
        Ok(())
    })
    .await
}

/// The LMS hand-off token.
#[derive(Debug, Deserialize)]
pub struct LtiHandOff {
    pub token: String,
}

#[derive(Template)]
#[template(path = "signin_lti.html")]
struct LtiConfirmPage {
    lang: &'static str,
    token: String,
}

/// A hand-off opened as a link (an old launch page, a bookmark): a page
/// whose button posts it. Opening it signs no one in.
#[utoipa::path(
    params(("token" = String, Query, description = "the hand-off JWT")),
    responses((status = 200, content_type = "text/html")),
)]
#[get("/signin/lti")]
pub async fn signin_lti_confirm(req: HttpRequest, query: web::Query<LtiHandOff>) -> Result<HttpResponse, ApiError> {
    Ok(html(render(&LtiConfirmPage {
        lang: language(&req),
        token: query.into_inner().token,
    })?))
}

/// Sign-in from an LTI launch: the lms-adapter, having validated the
/// platform's id_token, hands the learner over with a token signed by its
/// LTI tool key (`/lti/jwks`), for this host, valid two minutes, used once.
///
/// Signing in changes state, so it happens on a POST only — sent by the
/// launch page's form (from the lms-adapter's origin) or by the button of
/// [`signin_lti_confirm`] (from host's own).
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`token`: RS256 JWT from the lms-adapter: iss, aud, sub (the e-mail), exp, jti"),
    responses((status = 303, description = "signed in; to the backpack"), (status = 401, description = "a token that does not verify, expired or used"), (status = 403, description = "posted from another site")),
)]
#[post("/signin/lti")]
pub async fn signin_lti(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Form<LtiHandOff>,
) -> Result<HttpResponse, ApiError> {
    if !akashi_runtime::http::from_own_origin(&req, &state.lms_adapter_base) {
        earner::check_origin(&req, &state.public_base)?;
    }
    let refuse = |why: String| {
        tracing::warn!("LTI hand-off refused: {why}");
        ApiError::Unauthorized(format!("handoff_invalid: {why}"))
    };
    let header = jsonwebtoken::decode_header(&query.token).map_err(|e| refuse(e.to_string()))?;
    if header.alg != jsonwebtoken::Algorithm::RS256 {
        return Err(refuse("RS256 only".into()));
    }
    let kid = header.kid.ok_or_else(|| refuse("no kid".into()))?;
    let jwks: jsonwebtoken::jwk::JwkSet = state
        .http
        .get(format!("{}/lti/jwks", state.lms_adapter_base))
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the lms-adapter's keys: {e}")))?
        .json()
        .await
        .map_err(|e| ApiError::Unavailable(format!("the lms-adapter's keys: {e}")))?;
    let jwk = jwks.find(&kid).ok_or_else(|| refuse(format!("unknown kid {kid}")))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| refuse(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[state.public_base.as_str()]);
    validation.set_issuer(&[state.lms_adapter_base.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub", "jti"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<Value>(&query.token, &key, &validation)
        .map_err(|e| refuse(e.to_string()))?
        .claims;
    let iat = claims["iat"].as_i64().unwrap_or_default();
    let exp = claims["exp"].as_i64().unwrap_or_default();
    if exp - iat > 300 {
        return Err(refuse("a hand-off lives at most 5 minutes".into()));
    }
    let email = claims["sub"]
        .as_str()
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or_else(|| refuse("sub is not an e-mail address".into()))?;
    let jti = claims["jti"].as_str().unwrap_or_default();
    let mut conn = akashi_db::conn(&state.pool).await?;
    // Used once: the jti is recorded as a spent sign-in.
    let fresh = diesel::insert_into(earner_signins::table)
        .values((
            earner_signins::token_hash.eq(hash_token(&format!("lti:{jti}"))),
            earner_signins::email.eq(email.as_str()),
            earner_signins::via.eq("lti"),
            earner_signins::expires_at.eq(Utc::now()),
            earner_signins::used_at.eq(Utc::now()),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    if fresh == 0 {
        return Err(refuse("this hand-off was already used".into()));
    }
    let cookie = open_session(&mut conn, &state, email.as_str()).await?;
    metrics::counter!("host_signins_total", "via" => "lti").increment(1);
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/backpack"))
        .cookie(cookie)
        .finish())
}

/// A form whose only field is the session's CSRF token.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// Ends the session.
#[utoipa::path(responses((status = 303)))]
#[post("/signout")]
pub async fn signout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    earner::check_form(&req, &state.public_base, form.csrf.as_deref())?;
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        let mut conn = akashi_db::conn(&state.pool).await?;
        diesel::delete(earner_sessions::table.find(hash_token(c.value())))
            .execute(&mut conn)
            .await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/signin"))
        .cookie(gone)
        .finish())
}

/// A badge in a backpack.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackpackBadge {
    /// The assertion (award) id.
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub issued_on: DateTime<Utc>,
    pub revoked: bool,
    pub public: bool,
    /// The badge page on display.
    pub page: String,
    /// The baked image.
    pub image: String,
    /// The hosted OB 2.0 assertion.
    pub assertion: String,
    /// The badge class's name in its other languages, by language.
    #[schema(value_type = Object)]
    pub names: std::collections::BTreeMap<String, String>,
}

/// The badges issued to `email`, newest first, with the earner's choices.
pub async fn badges_of(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    earner: &Earner,
) -> Result<Vec<BackpackBadge>, ApiError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        Uuid,
        DateTime<Utc>,
        Value,
        Value,
        Option<Value>,
        Option<Uuid>,
        Option<bool>,
    )> = hosted_assertions::table
        .inner_join(hosted_badge_classes::table.on(hosted_badge_classes::id.eq(hosted_assertions::badge_class_id)))
        .left_join(hosted_issuers::table.on(hosted_issuers::id.eq(hosted_assertions::issuer_id)))
        .left_join(revocations::table.on(revocations::assertion_id.eq(hosted_assertions::id)))
        .left_join(
            backpack_visibility::table.on(backpack_visibility::assertion_id
                .eq(hosted_assertions::id)
                .and(backpack_visibility::earner_id.eq(earner.id))),
        )
        .filter(hosted_assertions::recipient_email.eq(&earner.email))
        .order(hosted_assertions::issued_on.desc())
        .select((
            hosted_assertions::id,
            hosted_assertions::issued_on,
            hosted_badge_classes::document,
            hosted_badge_classes::editions,
            hosted_issuers::profile.nullable(),
            revocations::assertion_id.nullable(),
            backpack_visibility::public.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, issued_on, badge, editions, issuer, revoked, public)| BackpackBadge {
                id,
                names: editions
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(lang, edition)| Some((lang.clone(), edition["name"].as_str()?.to_string())))
                    .collect(),
                name: badge["name"].as_str().unwrap_or("badge").to_string(),
                issuer: issuer
                    .as_ref()
                    .and_then(|i| i["name"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                issued_on,
                revoked: revoked.is_some(),
                public: public.unwrap_or(false),
                page: format!("{}/badges/{id}", state.display_base),
                image: format!("{}/badges/{id}/image.png", state.display_base),
                assertion: format!("{}/ob2/assertions/{id}", state.public_base),
            },
        )
        .collect())
}

struct BadgeLine {
    id: Uuid,
    name: String,
    issuer: String,
    issued_on: String,
    revoked: bool,
    public: bool,
    page: String,
    image: String,
    image_download: String,
}

fn line(b: &BackpackBadge, lang: &str) -> BadgeLine {
    BadgeLine {
        id: b.id,
        // The reader's language when the badge class has it.
        name: b.names.get(lang).unwrap_or(&b.name).clone(),
        issuer: b.issuer.clone(),
        issued_on: b.issued_on.format("%Y-%m-%d").to_string(),
        revoked: b.revoked,
        public: b.public,
        page: format!("{}?lang={lang}", b.page),
        image: b.image.clone(),
        image_download: format!("{}?download=1", b.image),
    }
}

#[derive(Template)]
#[template(path = "backpack.html")]
struct BackpackPage<'a> {
    lang: &'a str,
    earner: &'a Earner,
    profile_url: String,
    badges: Vec<BadgeLine>,
    collections: Vec<(String, String, bool)>,
    /// Badges brought in from elsewhere: (name, issuer, format).
    imported: Vec<(String, String, String)>,
    /// The session's CSRF token, carried by every form.
    csrf: String,
}

async fn signed_in(conn: &mut AsyncPgConnection, req: &HttpRequest) -> Result<Result<Earner, HttpResponse>, ApiError> {
    Ok(match earner::current(conn, req).await? {
        Some(e) => Ok(e),
        None => {
            let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/backpack");
            let next = url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>();
            Err(see_other(&format!("/signin?next={next}")))
        }
    })
}

/// The earner's backpack (sign-in required).
#[utoipa::path(responses((status = 200, content_type = "text/html"), (status = 303, description = "to sign in")))]
#[get("/backpack")]
pub async fn backpack(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = match signed_in(&mut conn, &req).await? {
        Ok(e) => e,
        Err(redirect) => return Ok(redirect),
    };
    let lang = language(&req);
    let badges = badges_of(&mut conn, &state, &earner).await?;
    let collections: Vec<(String, String, bool)> = collections::table
        .filter(collections::earner_id.eq(earner.id))
        .order(collections::created_at)
        .select((collections::name, collections::slug, collections::public))
        .load(&mut conn)
        .await?;
    let rows: Vec<(String, Option<Value>, Option<Value>)> = earner_credentials::table
        .filter(earner_credentials::earner_id.eq(earner.id))
        .order(earner_credentials::created_at)
        .select((
            earner_credentials::format,
            earner_credentials::summary,
            earner_credentials::credential,
        ))
        .load(&mut conn)
        .await?;
    let imported = rows
        .into_iter()
        .map(|(format, summary, credential)| {
            let pick = |key: &str| {
                summary
                    .as_ref()
                    .and_then(|s| s[key].as_str())
                    .or_else(|| credential.as_ref().and_then(|c| c[key].as_str()))
                    .unwrap_or_default()
                    .to_string()
            };
            let issuer = summary
                .as_ref()
                .and_then(|s| s["issuer"].as_str().map(str::to_owned))
                .or_else(|| {
                    credential
                        .as_ref()
                        .and_then(|c| c["issuer"]["name"].as_str().map(str::to_owned))
                })
                .unwrap_or_default();
            (pick("name"), issuer, format)
        })
        .collect();
    Ok(html(render(&BackpackPage {
        lang,
        profile_url: format!("/earners/{}", earner.profile_slug),
        earner: &earner,
        badges: badges.iter().map(|b| line(b, lang)).collect(),
        collections,
        imported,
        csrf: earner::csrf_token(&req).unwrap_or_default(),
    })?))
}

/// The backpack as JSON (session cookie).
#[utoipa::path(responses((status = 200, body = [BackpackBadge]), (status = 401)))]
#[get("/backpack/api/badges")]
pub async fn backpack_json(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, &req).await?;
    Ok(HttpResponse::Ok().json(badges_of(&mut conn, &state, &earner).await?))
}

/// Public or private.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Visibility {
    pub public: bool,
    /// The session's CSRF token (the form; the JSON API needs none: a
    /// cross-site JSON request is preflighted and refused).
    #[serde(default)]
    pub csrf: Option<String>,
}

async fn set_visibility(state: &AppState, req: &HttpRequest, id: Uuid, public: bool) -> Result<(), ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, req).await?;
    let owned: i64 = hosted_assertions::table
        .filter(
            hosted_assertions::id
                .eq(id)
                .and(hosted_assertions::recipient_email.eq(&earner.email)),
        )
        .count()
        .get_result(&mut conn)
        .await?;
    if owned == 0 {
        return Err(ApiError::NotFound("no such badge in this backpack".into()));
    }
    diesel::insert_into(backpack_visibility::table)
        .values((
            backpack_visibility::earner_id.eq(earner.id),
            backpack_visibility::assertion_id.eq(id),
            backpack_visibility::public.eq(public),
        ))
        .on_conflict((backpack_visibility::earner_id, backpack_visibility::assertion_id))
        .do_update()
        .set(backpack_visibility::public.eq(public))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Shows or hides a badge on the public profile (form).
#[utoipa::path(responses((status = 303), (status = 404)))]
#[post("/backpack/badges/{id}")]
pub async fn visibility_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    form: web::Form<Visibility>,
) -> Result<HttpResponse, ApiError> {
    earner::check_form(&req, &state.public_base, form.csrf.as_deref())?;
    set_visibility(&state, &req, *path, form.public).await?;
    Ok(see_other("/backpack"))
}

/// Shows or hides a badge on the public profile (JSON).
#[utoipa::path(request_body = Visibility, responses((status = 204), (status = 401), (status = 404)))]
#[put("/backpack/api/badges/{id}")]
pub async fn visibility_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Json<Visibility>,
) -> Result<HttpResponse, ApiError> {
    set_visibility(&state, &req, *path, body.public).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Profile settings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileForm {
    pub profile_public: Option<bool>,
    /// Keep the earner's name off the public pages of their badges.
    pub hide_name: Option<bool>,
    pub display_name: Option<String>,
    /// The session's CSRF token.
    pub csrf: Option<String>,
}

/// Makes the profile public or private, or renames it.
#[utoipa::path(responses((status = 303)))]
#[post("/backpack/profile")]
pub async fn profile_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, ApiError> {
    earner::check_form(&req, &state.public_base, form.csrf.as_deref())?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, &req).await?;
    if let Some(public) = form.profile_public {
        diesel::update(earners::table.find(earner.id))
            .set(earners::profile_public.eq(public))
            .execute(&mut conn)
            .await?;
    }
    if let Some(name) = form.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        if let Err(e) = akashi_model::text::single_line(name, 200) {
            return Err(ApiError::invalid_field(format!("display_name: {e}")));
        }
        diesel::update(earners::table.find(earner.id))
            .set(earners::display_name.eq(name))
            .execute(&mut conn)
            .await?;
    }
    if let Some(hide) = form.hide_name
        && hide != earner.hide_name
    {
        // The badge pages are display's: it hears of the choice over the
        // bus, in the same transaction as the change (outbox).
        let now = chrono::Utc::now();
        let email = akashi_model::EmailAddress::parse(&earner.email).map_err(ApiError::internal)?;
        let message = akashi_bus::Envelope::new(
            crate::SERVICE,
            akashi_model::messages::EarnerPreferencesChanged {
                email,
                hide_name: hide,
                changed_at: now,
            },
            None,
        );
        conn.transaction::<_, ApiError, _>(async |conn| {
            diesel::update(earners::table.find(earner.id))
                .set((earners::hide_name.eq(hide), earners::preferences_changed_at.eq(now)))
                .execute(conn)
                .await?;
            akashi_bus::outbox::enqueue(conn, &message)
                .await
                .map_err(ApiError::internal)?;
            Ok(())
        })
        .await?;
        state.relay.wake();
    }
    Ok(see_other("/backpack"))
}

/// A new collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    pub name: String,
    #[serde(default)]
    pub public: bool,
    /// Badges of this backpack, in order.
    pub assertion_ids: Vec<Uuid>,
}

/// A created collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionCreated {
    pub id: Uuid,
    pub url: String,
}

/// Creates a collection of the earner's badges.
#[utoipa::path(request_body = NewCollection, responses((status = 201, body = CollectionCreated), (status = 401), (status = 422)))]
#[post("/backpack/api/collections")]
pub async fn create_collection(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NewCollection>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, &req).await?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_field("name: 1-200 characters"));
    }
    if body.assertion_ids.len() > 500 {
        return Err(ApiError::invalid_field("assertion_ids: at most 500"));
    }
    let owned: Vec<Uuid> = hosted_assertions::table
        .filter(
            hosted_assertions::id
                .eq_any(&body.assertion_ids)
                .and(hosted_assertions::recipient_email.eq(&earner.email)),
        )
        .select(hosted_assertions::id)
        .load(&mut conn)
        .await?;
    if let Some(stranger) = body.assertion_ids.iter().find(|id| !owned.contains(id)) {
        return Err(ApiError::invalid_field(format!(
            "assertion_ids: {stranger} is not in this backpack"
        )));
    }
    let id = Uuid::now_v7();
    let slug = new_slug();
    conn.transaction::<_, ApiError, _>(async |conn| {
        diesel::insert_into(collections::table)
            .values((
                collections::id.eq(id),
                collections::earner_id.eq(earner.id),
                collections::name.eq(name),
                collections::slug.eq(&slug),
                collections::public.eq(body.public),
            ))
            .execute(conn)
            .await?;
        for (position, assertion) in body.assertion_ids.iter().enumerate() {
            diesel::insert_into(collection_items::table)
                .values((
                    collection_items::collection_id.eq(id),
                    collection_items::assertion_id.eq(assertion),
                    collection_items::position.eq(position as i32),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Created().json(CollectionCreated {
        id,
        url: format!("{}/collections/{slug}", state.public_base),
    }))
}

#[derive(Template)]
#[template(path = "public_badges.html")]
struct PublicPage<'a> {
    lang: &'a str,
    title: String,
    badges: Vec<BadgeLine>,
    collections: Vec<(String, String)>,
}

/// A public collection (404 when private).
#[utoipa::path(responses((status = 200, content_type = "text/html"), (status = 404)))]
#[get("/collections/{slug}")]
pub async fn collection_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let found: Option<(Uuid, String, bool, Uuid)> = collections::table
        .filter(collections::slug.eq(path.as_str()))
        .select((
            collections::id,
            collections::name,
            collections::public,
            collections::earner_id,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((id, name, true, earner_id)) = found else {
        return Err(ApiError::NotFound("no such public collection".into()));
    };
    let earner: Earner = earners::table
        .find(earner_id)
        .select(Earner::as_select())
        .first(&mut conn)
        .await?;
    let members: Vec<Uuid> = collection_items::table
        .filter(collection_items::collection_id.eq(id))
        .order(collection_items::position)
        .select(collection_items::assertion_id)
        .load(&mut conn)
        .await?;
    let lang = language(&req);
    let all = badges_of(&mut conn, &state, &earner).await?;
    // A collection shows its badges in its order, never a revoked one.
    let badges = members
        .iter()
        .filter_map(|m| all.iter().find(|b| b.id == *m && !b.revoked))
        .map(|b| line(b, lang))
        .collect();
    Ok(html(render(&PublicPage {
        lang,
        title: name,
        badges,
        collections: vec![],
    })?))
}

/// An earner's public profile: their public badges and collections (404
/// unless they made it public).
#[utoipa::path(responses((status = 200, content_type = "text/html"), (status = 404)))]
#[get("/earners/{slug}")]
pub async fn profile_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner: Option<Earner> = earners::table
        .filter(
            earners::profile_slug
                .eq(path.as_str())
                .and(earners::profile_public.eq(true)),
        )
        .select(Earner::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let earner = earner.ok_or_else(|| ApiError::NotFound("no such public profile".into()))?;
    let lang = language(&req);
    let badges = badges_of(&mut conn, &state, &earner)
        .await?
        .iter()
        .filter(|b| b.public && !b.revoked)
        .map(|b| line(b, lang))
        .collect();
    let public_collections: Vec<(String, String)> = collections::table
        .filter(collections::earner_id.eq(earner.id).and(collections::public.eq(true)))
        .select((collections::name, collections::slug))
        .load(&mut conn)
        .await?;
    Ok(html(render(&PublicPage {
        lang,
        // An earner who hides their name has it off their public profile too.
        title: earner
            .display_name
            .clone()
            .filter(|_| !earner.hide_name)
            .unwrap_or_else(|| {
                if lang == "ja" {
                    "バッジ".into()
                } else {
                    "Badges".into()
                }
            }),
        badges,
        collections: public_collections,
    })?))
}
