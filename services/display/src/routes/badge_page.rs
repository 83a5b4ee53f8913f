//! `GET /badges/{id}`: the badge page, with its status checked live through
//! the verifier each time it is viewed.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use akashi_runtime::ApiError;
use akashi_runtime::http::{REQUEST_ID_HEADER, RequestId};
use askama::Template;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::IntoParams;

use uuid::Uuid;

use crate::db::{known_awards, known_blockcerts};
use crate::domain::lang::{Lang, PageLanguage, Texts};
use crate::domain::presentation::Presentation;
use crate::domain::report_view;
use crate::startup::AppState;

/// Page parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// `en` or `ja`; otherwise `Accept-Language` decides.
    pub lang: Option<String>,
}

#[derive(Template)]
#[template(path = "badge.html")]
struct BadgePage<'a> {
    lang: &'a str,
    other_lang: &'a str,
    t: &'a Texts,
    name: String,
    description: String,
    image_url: String,
    page_url: String,
    /// The hosted credential, named as the page's JSON-LD alternate.
    assertion_url: String,
    issuer_name: String,
    issuer_url: Option<String>,
    issued_on: Option<String>,
    /// The issue date as people of the page's language write it.
    issued_display: Option<String>,
    expires: Option<String>,
    expires_display: Option<String>,
    /// The earner's name as the LMS gave it (never the e-mail).
    earner_name: Option<String>,
    /// What the share image shows, for people who cannot see it.
    og_image_alt: String,
    criteria: Option<String>,
    status: &'a str,
    status_text: &'a str,
    linkedin_url: String,
    /// The embed code as a site owner pastes it (HTML text; the template
    /// escapes it once more to show it inside a `<textarea>`).
    embed_snippet: String,
    revocation_reason: Option<String>,
    checks: Vec<(&'static str, String)>,
    blockcerts: Option<BlockcertsPanel>,
}

/// The `<iframe>` a site pastes to show the badge's card. Every value is
/// escaped for an HTML attribute here, because the snippet is itself HTML:
/// escaping it only for the page that shows it (the `<textarea>`) would
/// hand the pasting site the raw name, and a badge named
/// `X"><script>…` would run script there.
fn embed_snippet(page_url: &str, lang: &str, name: &str) -> String {
    let attr = |text: &str| {
        askama::filters::escape(text, askama::filters::Html)
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    format!(
        r#"<iframe src="{}" width="420" height="110" style="border:0" title="{}"></iframe>"#,
        attr(&format!("{page_url}/embed?lang={lang}")),
        attr(name)
    )
}

/// The "verified on <chain>" panel of a badge with a Blockcerts certificate.
struct BlockcertsPanel {
    /// Whether the verifier says the certificate is valid now.
    verified: bool,
    status_text: &'static str,
    chain_name: &'static str,
    test_chain: bool,
    anchored_at: String,
    /// The anchoring transaction and its page on a block explorer.
    transaction: Option<(String, String)>,
    batch_size: i32,
    download_url: String,
}

/// An anchored certificate display knows of.
#[derive(Queryable, Selectable)]
#[diesel(table_name = known_blockcerts)]
pub(crate) struct KnownBlockcerts {
    pub(crate) url: String,
    chain: String,
    anchor: String,
    anchored_at: chrono::DateTime<chrono::Utc>,
    batch_size: i32,
}

pub(crate) async fn known_blockcerts(state: &AppState, id: Uuid) -> Result<Option<KnownBlockcerts>, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    Ok(known_blockcerts::table
        .find(id)
        .select(KnownBlockcerts::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// A chain's name for people, and the block explorer of its transactions.
fn chain_name(chain: &str) -> (&'static str, Option<&'static str>) {
    match chain {
        "ethereum_mainnet" => ("Ethereum", Some("https://etherscan.io/tx/0x")),
        "ethereum_sepolia" => ("Ethereum Sepolia", Some("https://sepolia.etherscan.io/tx/0x")),
        _ => ("Mocknet", None),
    }
}

fn blockcerts_panel(
    t: &'static Texts,
    page_url: &str,
    known: &KnownBlockcerts,
    report: Option<&Value>,
) -> BlockcertsPanel {
    let status = report.and_then(|r| r["status"].as_str()).unwrap_or("unknown");
    let (chain_name, explorer) = chain_name(&known.chain);
    // `blink:eth:<network>:<64 hex>`: the transaction hash is the last part.
    let transaction = explorer.and_then(|base| {
        let hash = known.anchor.rsplit(':').next()?;
        Some((format!("0x{hash}"), format!("{base}{hash}")))
    });
    BlockcertsPanel {
        verified: status == "valid",
        status_text: report_view::status_text(t, status),
        chain_name,
        test_chain: explorer.is_none(),
        anchored_at: known.anchored_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        transaction,
        batch_size: known.batch_size,
        download_url: format!("{page_url}/blockcerts.json"),
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    lang: &'a str,
    t: &'a Texts,
}

/// What the page needs of an award display knows of.
#[derive(Queryable, Selectable)]
#[diesel(table_name = known_awards)]
pub(crate) struct KnownAward {
    pub(crate) assertion_url: String,
    pub(crate) badge_class_url: Option<String>,
    /// The earner's name as the LMS gave it — `None` on every public page
    /// when the earner chose to hide it (see [`known_award`]).
    pub(crate) recipient_name: Option<String>,
    recipient_email: Option<String>,
    issued_on: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) revocation_reason: Option<String>,
    pub(crate) issuer_id: Option<Uuid>,
}

/// How the award's issuer shows its badges (time zone, logo, signatory).
pub(crate) async fn presentation_of(state: &AppState, award: &KnownAward) -> Result<Presentation, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    Ok(Presentation::of(&mut conn, award.issuer_id).await?)
}

/// The reader's language: `?lang=`, else `Accept-Language`.
pub(crate) fn reader_language(req: &HttpRequest, asked: Option<&str>) -> Lang {
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(asked, accept_language)
}

/// The award display knows of, or 404.
pub(crate) async fn award_known(state: &AppState, id: Uuid) -> Result<KnownAward, ApiError> {
    known_award(state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such badge".into()))
}

pub(crate) async fn known_award(state: &AppState, id: Uuid) -> Result<Option<KnownAward>, ApiError> {
    use crate::db::earner_preferences;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let Some(mut award) = known_awards::table
        .find(id)
        .select(KnownAward::as_select())
        .first(&mut conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    // The earner's choice, made in their backpack, holds on every page
    // that shows their badge.
    if let Some(email) = &award.recipient_email {
        let hidden: Option<bool> = earner_preferences::table
            .find(email)
            .select(earner_preferences::hide_name)
            .first(&mut conn)
            .await
            .optional()?;
        if hidden == Some(true) {
            award.recipient_name = None;
        }
    }
    Ok(Some(award))
}

pub(crate) async fn fetch_json(state: &AppState, request_id: &RequestId, url: &str) -> Option<Value> {
    let response = state
        .http
        .get(url)
        .header(header::ACCEPT.as_str(), "application/ld+json")
        .header(REQUEST_ID_HEADER, &request_id.0)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// Asks the verifier about an assertion URL; `None` if it did not answer.
async fn verify(state: &AppState, request_id: &RequestId, assertion_url: &str) -> Option<Value> {
    let mut call = state
        .http
        .post(format!("{}/verify", state.verifier_url))
        .header(REQUEST_ID_HEADER, &request_id.0)
        .json(&json!({"url": assertion_url}));
    if let Some(key) = &state.verifier_api_key {
        use secrecy::ExposeSecret;
        call = call.header("x-api-key", key.expose_secret());
    }
    let response = call.send().await.ok()?;
    if !response.status().is_success() {
        tracing::warn!(status = response.status().as_u16(), "verifier refused the badge's URL");
        return None;
    }
    response.json().await.ok()
}

fn html(status: actix_web::http::StatusCode, body: Result<String, askama::Error>) -> Result<HttpResponse, ApiError> {
    let body = body.map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept, Accept-Language"))
        .body(body))
}

fn parse_time(raw: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(raw).ok().map(|t| t.to_utc())
}

/// The share image's text alternative: what it shows, in the page's language.
fn og_image_alt(lang: Lang, badge: &str, issuer: &str, earner: Option<&str>) -> String {
    match (lang, earner.filter(|e| !e.trim().is_empty())) {
        (Lang::Ja, Some(e)) => format!("{issuer} のバッジ「{badge}」— {e} さんが取得"),
        (Lang::Ja, None) => format!("{issuer} のバッジ「{badge}」"),
        (Lang::En, Some(e)) => format!("{badge}, a badge from {issuer}, earned by {e}"),
        (Lang::En, None) => format!("{badge}, a badge from {issuer}"),
    }
}

/// Whether the request asks for the credential rather than the page: it
/// accepts JSON(-LD) and not HTML (browsers list `text/html` first).
fn wants_credential(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    let json = types
        .iter()
        .any(|t| matches!(*t, "application/ld+json" | "application/json"));
    let html = types
        .iter()
        .any(|t| matches!(*t, "text/html" | "application/xhtml+xml"));
    json && !html
}

/// The badge page (HTML). Language from `?lang=` or `Accept-Language`;
/// with `Accept: application/json` or `application/ld+json`, a 303 to the
/// hosted credential.
#[utoipa::path(params(PageQuery), responses((status = 200, content_type = "text/html"), (status = 303, description = "Accept: application/json or application/ld+json: to the hosted credential"), (status = 404, content_type = "text/html")))]
#[get("/badges/{id}")]
pub async fn badge_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let lang = reader_language(&req, query.lang.as_deref());
    let t = lang.texts();
    let id = path.into_inner();
    let known = known_award(&state, id).await?;
    // The link people share is also the credential's: a client asking for
    // JSON (a verifier, an HR system) is sent to the hosted assertion.
    if wants_credential(&req) {
        return match known {
            Some(award) => Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, award.assertion_url))
                .insert_header((header::VARY, "Accept, Accept-Language"))
                .finish()),
            None => Err(ApiError::NotFound("no such badge".into())),
        };
    }
    let Some(award) = known else {
        return html(
            actix_web::http::StatusCode::NOT_FOUND,
            NotFoundPage { lang: lang.tag(), t }.render(),
        );
    };
    // The verifier and host are asked at the same time; the page needs both.
    let badge_future = async {
        match &award.badge_class_url {
            Some(url) => fetch_json(&state, &request_id, &badge_class_in(url, lang)).await,
            None => None,
        }
    };
    let blockcerts = known_blockcerts(&state, id).await?;
    let zone = presentation_of(&state, &award).await?.time_zone;
    let blockcerts_future = async {
        match &blockcerts {
            Some(known) => verify(&state, &request_id, &known.url).await,
            None => None,
        }
    };
    let (report, badge, blockcerts_report) = tokio::join!(
        verify(&state, &request_id, &award.assertion_url),
        badge_future,
        blockcerts_future
    );
    let badge = badge.unwrap_or(Value::Null);
    let issuer = match badge["issuer"].as_str() {
        Some(url) => fetch_json(&state, &request_id, url).await.unwrap_or(Value::Null),
        None => Value::Null,
    };
    let status = match &report {
        Some(r) => r["status"].as_str().unwrap_or("unknown").to_string(),
        None if award.revocation_reason.is_some() => "revoked".into(),
        None => "unknown".into(),
    };
    let status_text = report_view::status_text(t, &status);
    let mut checks = report
        .as_ref()
        .map(|r| report_view::checks(r, lang))
        .unwrap_or_default();
    if report.is_none() {
        checks.push(("warning", t.verifier_unreachable.to_string()));
    }
    // The reason travels on the bus with the revocation; the verifier's
    // check names it too, but in its own sentence.
    let revocation_reason = if status == "revoked" {
        award.revocation_reason.clone()
    } else {
        None
    };
    let issued: Option<chrono::DateTime<chrono::Utc>> = award.issued_on;
    let page_url = format!("{}/badges/{id}", state.public_base);
    let badge_name = badge["name"].as_str().unwrap_or("Badge").to_string();
    let issuer_name = issuer["name"].as_str().unwrap_or_default().to_string();
    let linkedin_url = linkedin_add_to_profile(&badge_name, &issuer_name, issued, &page_url, &id.to_string());
    let blockcerts = blockcerts
        .as_ref()
        .map(|known| blockcerts_panel(t, &page_url, known, blockcerts_report.as_ref()));
    let issued_on = report
        .as_ref()
        .and_then(|r| r["issued_on"].as_str().map(str::to_owned))
        .or_else(|| {
            award
                .issued_on
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        });
    let expires = report.as_ref().and_then(|r| r["expires"].as_str().map(str::to_owned));
    let (og_badge_name, og_issuer_name) = (badge_name.clone(), issuer_name.clone());
    let page = BadgePage {
        lang: lang.tag(),
        other_lang: if lang == Lang::Ja { "en" } else { "ja" },
        t,
        embed_snippet: embed_snippet(&page_url, lang.tag(), &badge_name),
        name: badge_name,
        description: badge["description"].as_str().unwrap_or_default().to_string(),
        image_url: badge["image"].as_str().unwrap_or_default().to_string(),
        page_url,
        linkedin_url,
        assertion_url: award.assertion_url.clone(),
        issuer_name,
        issuer_url: issuer["url"].as_str().map(str::to_owned),
        issued_on: issued_on.clone(),
        issued_display: issued_on
            .as_deref()
            .and_then(parse_time)
            .map(|t| lang.long_date(t, zone)),
        expires_display: expires.as_deref().and_then(parse_time).map(|t| lang.long_date(t, zone)),
        expires,
        og_image_alt: og_image_alt(lang, &og_badge_name, &og_issuer_name, award.recipient_name.as_deref()),
        earner_name: award.recipient_name.clone().filter(|n| !n.trim().is_empty()),
        criteria: badge["criteria"]["narrative"].as_str().map(str::to_owned),
        status: &status,
        status_text,
        revocation_reason,
        checks,
        blockcerts,
    };
    html(actix_web::http::StatusCode::OK, page.render())
}

/// The badge page's script (copy link, share), a file: the page's CSP
/// allows no inline script.
#[utoipa::path(responses((status = 200, content_type = "text/javascript")))]
#[get("/badges/assets/badge.js")]
pub async fn page_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../../static/badge.js"))
}

/// The verifier's report on this badge, as JSON.
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404), (status = 503)))]
#[get("/badges/{id}/verification")]
pub async fn verification_report(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let award = known_award(&state, path.into_inner())
        .await?
        .ok_or_else(|| ApiError::NotFound("no such badge".into()))?;
    let report = verify(&state, &request_id, &award.assertion_url)
        .await
        .ok_or_else(|| ApiError::Unavailable("the verifier did not answer".into()))?;
    Ok(HttpResponse::Ok().json(report))
}

/// The award's Blockcerts certificate as a file to keep (from host), e.g.
/// for the Blockcerts wallet or another verifier.
#[utoipa::path(responses((status = 200, content_type = "application/json"), (status = 404)))]
#[get("/badges/{id}/blockcerts.json")]
pub async fn blockcerts_download(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let known = known_blockcerts(&state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this badge has no anchored Blockcerts certificate".into()))?;
    let certificate = fetch_json(&state, &request_id, &known.url)
        .await
        .ok_or_else(|| ApiError::Unavailable("host did not serve the certificate".into()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"blockcerts-{id}.json\""),
        ))
        .body(serde_json::to_vec_pretty(&certificate).map_err(ApiError::internal)?))
}

/// LinkedIn's "Add to profile" link for a certification: name, issuing
/// organization, issue date, and the credential's id and URL, so the entry
/// links back to this page (where it is verified live).
fn linkedin_add_to_profile(
    name: &str,
    organization: &str,
    issued: Option<chrono::DateTime<chrono::Utc>>,
    url: &str,
    credential_id: &str,
) -> String {
    use chrono::Datelike;
    let mut link = url::Url::parse("https://www.linkedin.com/profile/add").expect("a fixed, valid URL");
    {
        let mut query = link.query_pairs_mut();
        query.append_pair("startTask", "CERTIFICATION_NAME");
        query.append_pair("name", name);
        query.append_pair("organizationName", organization);
        if let Some(issued) = issued {
            query.append_pair("issueYear", &issued.year().to_string());
            query.append_pair("issueMonth", &issued.month().to_string());
        }
        query.append_pair("certUrl", url);
        query.append_pair("certId", credential_id);
    }
    link.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linkedin_link_carries_the_certification() {
        let issued = chrono::DateTime::parse_from_rfc3339("2026-11-27T09:00:00+09:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let link = linkedin_add_to_profile(
            "Data & Science",
            "証 University",
            Some(issued),
            "http://d/badges/1",
            "1",
        );
        let parsed = url::Url::parse(&link).unwrap();
        let pairs: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["startTask"], "CERTIFICATION_NAME");
        assert_eq!(pairs["name"], "Data & Science");
        assert_eq!(pairs["organizationName"], "証 University");
        assert_eq!(
            (pairs["issueYear"].as_str(), pairs["issueMonth"].as_str()),
            ("2026", "11")
        );
        assert_eq!(pairs["certUrl"], "http://d/badges/1");
        assert_eq!(pairs["certId"], "1");
    }
}

/// The badge class's URL in the reader's language: host serves the
/// translation when the badge class has one, the badge class as written
/// otherwise.
pub(crate) fn badge_class_in(url: &str, lang: Lang) -> String {
    format!("{url}?lang={}", lang.tag())
}

/// The award's badge class (in the reader's language) and its issuer as
/// host serves them (`Null` for what cannot be fetched: the caller shows
/// what it has).
pub(crate) async fn badge_and_issuer(
    state: &AppState,
    request_id: &RequestId,
    award: &KnownAward,
    lang: Lang,
) -> (Value, Value) {
    let badge = match &award.badge_class_url {
        Some(url) => fetch_json(state, request_id, &badge_class_in(url, lang))
            .await
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let issuer = match badge["issuer"].as_str() {
        Some(url) => fetch_json(state, request_id, url).await.unwrap_or(Value::Null),
        None => Value::Null,
    };
    (badge, issuer)
}

/// The printable certificate (PDF, A4 landscape) in the page's language,
/// with a QR code to the verification page. 410 for a revoked badge: a
/// certificate is not printed for what no longer holds.
#[utoipa::path(
    params(PageQuery),
    responses(
        (status = 200, content_type = "application/pdf"),
        (status = 404), (status = 410, description = "revoked"),
        (status = 503, description = "no certificate font is installed"),
    ),
)]
#[get("/badges/{id}/certificate.pdf")]
pub async fn certificate_pdf(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let lang = reader_language(&req, query.lang.as_deref());
    let id = path.into_inner();
    let award = award_known(&state, id).await?;
    if award.revocation_reason.is_some() {
        return Err(ApiError::Gone(
            "this badge was revoked: no certificate is issued for it".into(),
        ));
    }
    let font = state
        .certificate_font
        .get_or_try_init(|| async {
            let path = state.certificate_font_path.clone();
            tokio::task::spawn_blocking(move || {
                crate::certificate::CertificateFont::configured(path.as_deref()).map(Arc::new)
            })
            .await
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?
            .map_err(|e| {
                tracing::error!("certificates unavailable: {e}");
                // The log names the file; the reader is told no more than that.
                ApiError::Unavailable("certificates cannot be printed right now".into())
            })
        })
        .await?
        .clone();
    let (badge, issuer) = badge_and_issuer(&state, &request_id, &award, lang).await;
    let presentation = presentation_of(&state, &award).await?;
    let date = |t: chrono::DateTime<chrono::Utc>| lang.long_date(t, presentation.time_zone);
    let expires = fetch_json(&state, &request_id, &award.assertion_url)
        .await
        .and_then(|a| a["expires"].as_str().map(str::to_owned))
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e).ok())
        .map(|e| date(e.with_timezone(&chrono::Utc)));
    let data = crate::certificate::CertificateData {
        japanese: lang == Lang::Ja,
        recipient: award.recipient_name.clone().filter(|n| !n.trim().is_empty()),
        badge_name: badge["name"].as_str().unwrap_or("Badge").to_string(),
        description: badge["description"].as_str().unwrap_or_default().to_string(),
        issuer_name: issuer["name"].as_str().unwrap_or_default().to_string(),
        issued_on: award.issued_on.map(date).unwrap_or_default(),
        expires,
        verify_url: format!("{}/badges/{id}?lang={}", state.public_base, lang.tag()),
        award_id: id.to_string(),
        badge_png: crate::routes::baked::badge_png(&state, &request_id, &badge).await,
        logo: presentation.logo.clone(),
        signatory: presentation.signatory.clone(),
    };
    let pdf = tokio::task::spawn_blocking(move || crate::certificate::render(&data, &font))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"certificate-{id}-{}.pdf\"", lang.tag()),
        ))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(pdf))
}

#[derive(Template)]
#[template(path = "embed.html")]
struct EmbedCard<'a> {
    lang: &'a str,
    /// The hosted credential, named as the page's JSON-LD alternate.
    credential_url: String,
    name: String,
    issuer_name: String,
    issued_on: Option<String>,
    image_url: String,
    page_url: String,
    revoked: bool,
    revoked_text: &'a str,
}

/// A small badge card for other sites to embed in an `<iframe>` (the badge
/// page shows the snippet); it links to the badge page, where the badge is
/// verified live.
#[utoipa::path(params(PageQuery), responses((status = 200, content_type = "text/html"), (status = 404)))]
#[get("/badges/{id}/embed")]
pub async fn embed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let lang = reader_language(&req, query.lang.as_deref());
    let id = path.into_inner();
    let award = award_known(&state, id).await?;
    let (badge, issuer) = badge_and_issuer(&state, &request_id, &award, lang).await;
    let zone = presentation_of(&state, &award).await?.time_zone;
    let card = EmbedCard {
        lang: lang.tag(),
        credential_url: award.assertion_url.clone(),
        name: badge["name"].as_str().unwrap_or("Badge").to_string(),
        issuer_name: issuer["name"].as_str().unwrap_or_default().to_string(),
        issued_on: award.issued_on.map(|t| lang.long_date(t, zone)),
        image_url: badge["image"].as_str().unwrap_or_default().to_string(),
        page_url: format!("{}/badges/{id}?lang={}", state.public_base, lang.tag()),
        revoked: award.revocation_reason.is_some(),
        revoked_text: if lang == Lang::Ja {
            "取り消し済み"
        } else {
            "revoked"
        },
    };
    // Made to be framed by other sites: no frame restriction, short cache.
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: http: https:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; object-src 'none'; frame-ancestors *",
        ))
        .body(card.render().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?))
}

#[cfg(test)]
mod embed_tests {
    use super::embed_snippet;

    #[test]
    fn a_hostile_badge_name_stays_inside_the_title_attribute() {
        let snippet = embed_snippet(
            "https://badges.example/badges/1",
            "ja",
            r#"X"><script>alert(1)</script><img src=x onerror=alert(1)>"#,
        );
        assert!(!snippet.contains("<script"), "{snippet}");
        assert!(!snippet.contains("<img"), "{snippet}");
        assert!(
            snippet.contains("title=\"X&#34;&#62;&#60;script&#62;")
                || snippet.contains("title=\"X&quot;&gt;&lt;script&gt;"),
            "{snippet}"
        );
        // Exactly one element: the iframe and its end tag.
        assert_eq!(snippet.matches('<').count(), 2, "{snippet}");
    }
}
