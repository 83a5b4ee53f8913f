//! The 1EdTech Open Badges 3.0 API (`/ims/ob/v3p0`), service provider side:
//! discovery, dynamic client registration (RFC 7591), the authorization
//! code grant with mandatory PKCE (S256), refresh tokens, and the resources
//! `GET/POST /credentials` (paged) and `GET/PUT /profile`.
//!
//! An app acting for an earner sees the OB 3.0 credentials Akashi issued to
//! the earner's address (their VC-JWT when issued, else the JSON) and those
//! the app or others added; `POST /credentials` upserts by credential id.

use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use akashi_crypto::token::{constant_time_eq, generate_token, hash_token};
use akashi_runtime::ApiError;
use askama::Template;
use base64::Engine;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::schema::{
    earner_credentials, earners, hosted_assertions, oauth_clients, oauth_codes, oauth_tokens, revocations,
};
use crate::earner::{self, Earner, language};
use crate::startup::AppState;

/// The API's base path.
pub const BASE: &str = "/ims/ob/v3p0";
const SCOPE_PREFIX: &str = "https://purl.imsglobal.org/spec/ob/v3p0/scope/";
/// Every scope the API knows.
pub const SCOPES: [&str; 4] = [
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update",
];
/// The Badge Connect (OB 2.1) scopes, granted by the same OAuth server.
pub const V2P1_SCOPES: [&str; 4] = [
    "https://purl.imsglobal.org/spec/ob/v2p1/scope/assertion.readonly",
    "https://purl.imsglobal.org/spec/ob/v2p1/scope/assertion.create",
    "https://purl.imsglobal.org/spec/ob/v2p1/scope/profile.readonly",
    "https://purl.imsglobal.org/spec/ob/v2p1/scope/profile.update",
];

fn known_scope(scope: &str) -> bool {
    SCOPES.contains(&scope) || V2P1_SCOPES.contains(&scope)
}
const ACCESS_MINUTES: i64 = 60;
const REFRESH_DAYS: i64 = 30;
const CODE_MINUTES: i64 = 10;

/// The spec's error body (Imsx_StatusInfo).
fn status_info(status: actix_web::http::StatusCode, major: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "imsx_codeMajor": major,
        "imsx_severity": "error",
        "imsx_description": description,
    }))
}

/// An OAuth 2.0 error (RFC 6749 §5.2).
fn oauth_error(status: actix_web::http::StatusCode, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": error, "error_description": description}))
}

/// The service description document (unprotected).
#[utoipa::path(responses((status = 200, description = "an OpenAPI 3 service description with the OAuth 2.0 endpoints")))]
#[get("/ims/ob/v3p0/discovery")]
pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let base = format!("{}{BASE}", state.public_base);
    let scopes: serde_json::Map<String, Value> = SCOPES
        .iter()
        .map(|s| ((*s).to_string(), json!(s.trim_start_matches(SCOPE_PREFIX))))
        .collect();
    HttpResponse::Ok().json(json!({
        "openapi": "3.0.1",
        "info": {
            "title": "Akashi Open Badges API",
            "version": "3.0",
            "termsOfService": format!("{}/terms", state.public_base),
            "x-imssf-image": format!("{}/favicon.svg", state.display_base),
            "x-imssf-privacyPolicyUrl": format!("{}/privacy", state.public_base),
        },
        "servers": [{"url": base}],
        "paths": {
            "/credentials": {"get": {"operationId": "getCredentials"}, "post": {"operationId": "upsertCredential"}},
            "/profile": {"get": {"operationId": "getProfile"}, "put": {"operationId": "putProfile"}},
            "/discovery": {"get": {"operationId": "getServiceDescription"}},
        },
        "components": {"securitySchemes": {"OAuth2ACG": {
            "type": "oauth2",
            "description": "OAuth 2.0 authorization code grant with PKCE (S256)",
            "x-imssf-registrationUrl": format!("{base}/register"),
            "flows": {"authorizationCode": {
                "authorizationUrl": format!("{base}/authorize"),
                "tokenUrl": format!("{base}/token"),
                "refreshUrl": format!("{base}/token"),
                "scopes": scopes,
            }},
        }}},
        "security": [{"OAuth2ACG": SCOPES}],
    }))
}

/// A client registration request (RFC 7591).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
}

fn acceptable_redirect(uri: &str) -> bool {
    match url::Url::parse(uri) {
        Ok(u) if u.fragment().is_none() => match u.scheme() {
            "https" => true,
            // Plain HTTP only back to the same machine (native apps, tests).
            "http" => matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
            _ => false,
        },
        _ => false,
    }
}

/// Registers a client (no initial access token, as the spec asks).
#[utoipa::path(
    request_body(content = String, content_type = "application/json", description = "RFC 7591 client metadata"),
    responses((status = 201, description = "client_id and client_secret"), (status = 400, description = "invalid_redirect_uri or invalid_client_metadata")),
)]
#[post("/ims/ob/v3p0/register")]
pub async fn register(state: web::Data<AppState>, body: web::Json<Registration>) -> Result<HttpResponse, ApiError> {
    let bad = |e: &str, d: &str| Ok(oauth_error(actix_web::http::StatusCode::BAD_REQUEST, e, d));
    // The name is shown on the consent page: one plain line.
    let Some(name) = body
        .client_name
        .as_deref()
        .and_then(|n| akashi_model::text::single_line(n, 200).ok())
    else {
        return bad(
            "invalid_client_metadata",
            "client_name is required: one line of at most 200 characters, no control or bidi override characters",
        );
    };
    // A client_uri is a link people may follow: http(s) only (never
    // `javascript:` or `data:`).
    if let Some(uri) = &body.client_uri
        && !url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
    {
        return bad("invalid_client_metadata", "client_uri must be an http(s) URL");
    }
    let redirects = body.redirect_uris.clone().unwrap_or_default();
    if redirects.is_empty() || redirects.len() > 10 || !redirects.iter().all(|r| acceptable_redirect(r)) {
        return bad(
            "invalid_redirect_uri",
            "1-10 redirect_uris, https (http only to localhost), no fragment",
        );
    }
    let scopes: Vec<String> = match &body.scope {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        None => SCOPES.iter().map(|s| (*s).to_string()).collect(),
    };
    if scopes.is_empty() || scopes.iter().any(|s| !known_scope(s)) {
        return bad(
            "invalid_client_metadata",
            "scope: only the OB 3.0 and Badge Connect scopes",
        );
    }
    if body
        .token_endpoint_auth_method
        .as_deref()
        .is_some_and(|m| m != "client_secret_basic")
    {
        return bad(
            "invalid_client_metadata",
            "token_endpoint_auth_method: client_secret_basic",
        );
    }
    let client_id = Uuid::now_v7().to_string();
    let secret = generate_token();
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::insert_into(oauth_clients::table)
        .values((
            oauth_clients::client_id.eq(&client_id),
            oauth_clients::client_secret_hash.eq(hash_token(&secret)),
            oauth_clients::client_name.eq(name),
            oauth_clients::client_uri.eq(&body.client_uri),
            oauth_clients::redirect_uris.eq(&redirects),
            oauth_clients::scopes.eq(&scopes),
        ))
        .execute(&mut conn)
        .await?;
    tracing::info!(%client_id, client_name = name, "OB 3.0 API client registered");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "client_id": client_id,
            "client_secret": secret,
            "client_id_issued_at": Utc::now().timestamp(),
            "client_secret_expires_at": 0,
            "client_name": name,
            "client_uri": body.client_uri,
            "redirect_uris": redirects,
            "scope": scopes.join(" "),
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        })))
}

/// An authorization request (query or the consent form).
#[derive(Debug, Deserialize, Clone, utoipa::ToSchema)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// On the consent form: `approve` or `deny`.
    pub decision: Option<String>,
    /// On the consent form: the earner's session's CSRF token.
    pub csrf: Option<String>,
}

struct Checked {
    client_id: String,
    client_name: String,
    redirect_uri: String,
    scopes: Vec<String>,
    challenge: String,
}

/// Errors before the redirect URI is trusted are shown, never redirected.
async fn check_authorize(state: &AppState, p: &AuthorizeParams) -> Result<Result<Checked, HttpResponse>, ApiError> {
    let bad = |d: &str| {
        Ok(Err(oauth_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_request",
            d,
        )))
    };
    let (Some(client_id), Some(redirect_uri)) = (&p.client_id, &p.redirect_uri) else {
        return bad("client_id and redirect_uri are required");
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let client: Option<(String, Vec<String>, Vec<String>)> = oauth_clients::table
        .find(client_id)
        .select((
            oauth_clients::client_name,
            oauth_clients::redirect_uris,
            oauth_clients::scopes,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((client_name, redirects, allowed)) = client else {
        return bad("unknown client_id");
    };
    if !redirects.contains(redirect_uri) {
        return bad("redirect_uri is not one the client registered");
    }
    // From here on, errors go back to the client.
    let back = |error: &str| {
        let mut u = url::Url::parse(redirect_uri).expect("registered URIs parse");
        u.query_pairs_mut().append_pair("error", error);
        if let Some(s) = &p.state {
            u.query_pairs_mut().append_pair("state", s);
        }
        Ok(Err(HttpResponse::SeeOther()
            .insert_header(("Location", u.as_str()))
            .finish()))
    };
    if p.response_type.as_deref() != Some("code") {
        return back("unsupported_response_type");
    }
    let challenge = match (&p.code_challenge, p.code_challenge_method.as_deref()) {
        (Some(c), Some("S256")) if (43..=128).contains(&c.len()) => c.clone(),
        _ => return back("invalid_request"), // PKCE with S256 is mandatory
    };
    let scopes: Vec<String> = p
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !allowed.contains(s)) {
        return back("invalid_scope");
    }
    Ok(Ok(Checked {
        client_id: client_id.clone(),
        client_name,
        redirect_uri: redirect_uri.clone(),
        scopes,
        challenge,
    }))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    lang: &'a str,
    client_name: String,
    scopes: Vec<String>,
    fields: Vec<(String, String)>,
}

/// The authorization endpoint: sign in if needed, then ask the earner.
#[utoipa::path(responses((status = 200, description = "the consent page"), (status = 303, description = "to sign in, or back to the client with an error"), (status = 400)))]
#[get("/ims/ob/v3p0/authorize")]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<AuthorizeParams>,
) -> Result<HttpResponse, ApiError> {
    let checked = match check_authorize(&state, &params).await? {
        Ok(c) => c,
        Err(response) => return Ok(response),
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    if earner::current(&mut conn, &req).await?.is_none() {
        let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(BASE);
        let next = url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>();
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", format!("/signin?next={next}")))
            .finish());
    }
    let p = params.into_inner();
    let fields = [
        ("response_type", p.response_type),
        ("client_id", p.client_id),
        ("redirect_uri", p.redirect_uri),
        ("scope", p.scope),
        ("state", p.state),
        ("code_challenge", p.code_challenge),
        ("code_challenge_method", p.code_challenge_method),
    ]
    .into_iter()
    .chain([("csrf", earner::csrf_token(&req))])
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect();
    let page = ConsentPage {
        lang: language(&req),
        client_name: checked.client_name,
        scopes: checked
            .scopes
            .iter()
            .map(|s| s.trim_start_matches(SCOPE_PREFIX).to_string())
            .collect(),
        fields,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        // The consent page must not be framed (clickjacking).
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Content-Security-Policy", akashi_runtime::http::DEFAULT_PAGE_CSP))
        .body(page.render().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?))
}

/// The earner's answer on the consent page.
#[utoipa::path(responses((status = 303, description = "back to the client with a code, or access_denied")))]
#[post("/ims/ob/v3p0/authorize")]
pub async fn authorize_decision(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<AuthorizeParams>,
) -> Result<HttpResponse, ApiError> {
    // From the consent page of this site only, in this earner's session:
    // a cross-site page must not approve access to the earner's profile.
    earner::check_form(&req, &state.public_base, form.csrf.as_deref())?;
    let checked = match check_authorize(&state, &form).await? {
        Ok(c) => c,
        Err(response) => return Ok(response),
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let earner = earner::required(&mut conn, &req).await?;
    let mut back = url::Url::parse(&checked.redirect_uri).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    if form.decision.as_deref() != Some("approve") {
        back.query_pairs_mut().append_pair("error", "access_denied");
    } else {
        let code = generate_token();
        diesel::insert_into(oauth_codes::table)
            .values((
                oauth_codes::code_hash.eq(hash_token(&code)),
                oauth_codes::client_id.eq(&checked.client_id),
                oauth_codes::earner_id.eq(earner.id),
                oauth_codes::redirect_uri.eq(&checked.redirect_uri),
                oauth_codes::scopes.eq(&checked.scopes),
                oauth_codes::code_challenge.eq(&checked.challenge),
                oauth_codes::expires_at.eq(Utc::now() + Duration::minutes(CODE_MINUTES)),
            ))
            .execute(&mut conn)
            .await?;
        back.query_pairs_mut().append_pair("code", &code);
    }
    if let Some(s) = &form.state {
        back.query_pairs_mut().append_pair("state", s);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", back.as_str()))
        .finish())
}

/// A token request (form).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// The client named by `Authorization: Basic`, if its secret is right.
async fn authenticate_client(state: &AppState, req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(basic) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return Ok(None);
    };
    let Some((id, secret)) = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())))
    else {
        return Ok(None);
    };
    // RFC 6749 §2.3.1: both parts are form-urlencoded.
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(&id), decode(&secret));
    let mut conn = akashi_db::conn(&state.pool).await?;
    let stored: Option<String> = oauth_clients::table
        .find(&id)
        .select(oauth_clients::client_secret_hash)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(stored.filter(|h| constant_time_eq(h, &hash_token(&secret))).map(|_| id))
}

async fn issue_tokens(
    conn: &mut diesel_async::AsyncPgConnection,
    client_id: &str,
    earner_id: Uuid,
    scopes: &[String],
) -> Result<Value, ApiError> {
    let access = generate_token();
    let refresh = generate_token();
    for (token, kind, expires) in [
        (&access, "access", Utc::now() + Duration::minutes(ACCESS_MINUTES)),
        (&refresh, "refresh", Utc::now() + Duration::days(REFRESH_DAYS)),
    ] {
        diesel::insert_into(oauth_tokens::table)
            .values((
                oauth_tokens::token_hash.eq(hash_token(token)),
                oauth_tokens::kind.eq(kind),
                oauth_tokens::client_id.eq(client_id),
                oauth_tokens::earner_id.eq(earner_id),
                oauth_tokens::scopes.eq(scopes),
                oauth_tokens::expires_at.eq(expires),
            ))
            .execute(conn)
            .await?;
    }
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_MINUTES * 60,
        "refresh_token": refresh,
        "scope": scopes.join(" "),
    }))
}

/// The PKCE check: BASE64URL(SHA-256(verifier)) = challenge (RFC 7636).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    valid
        && constant_time_eq(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            challenge,
        )
}

/// The token endpoint: authorization_code (with the PKCE verifier) and refresh_token.
#[utoipa::path(
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "access and refresh tokens"), (status = 400, description = "invalid_grant, invalid_request, unsupported_grant_type"), (status = 401, description = "invalid_client")),
)]
#[post("/ims/ob/v3p0/token")]
pub async fn token_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    let Some(client_id) = authenticate_client(&state, &req).await? else {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_secret_basic authentication failed",
        ));
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let grant = |d: &str| Ok(oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d));
    match form.grant_type.as_str() {
        "authorization_code" => {
            let (Some(code), Some(verifier)) = (&form.code, &form.code_verifier) else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code and code_verifier are required",
                ));
            };
            let answer = conn
                .transaction::<_, ApiError, _>(async |conn| {
                    let found: Option<(String, Uuid, String, Vec<String>, String)> = diesel::update(
                        oauth_codes::table.find(hash_token(code)).filter(
                            oauth_codes::used_at
                                .is_null()
                                .and(oauth_codes::expires_at.gt(Utc::now())),
                        ),
                    )
                    .set(oauth_codes::used_at.eq(diesel::dsl::now))
                    .returning((
                        oauth_codes::client_id,
                        oauth_codes::earner_id,
                        oauth_codes::redirect_uri,
                        oauth_codes::scopes,
                        oauth_codes::code_challenge,
                    ))
                    .get_result(conn)
                    .await
                    .optional()?;
                    let Some((owner, earner_id, redirect_uri, scopes, challenge)) = found else {
                        return Ok(Err("unknown, used or expired code"));
                    };
                    if owner != client_id || form.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
                        return Ok(Err("the code was issued to another client or redirect_uri"));
                    }
                    if !pkce_matches(verifier, &challenge) {
                        return Ok(Err("code_verifier does not match the code_challenge"));
                    }
                    Ok(Ok(issue_tokens(conn, &client_id, earner_id, &scopes).await?))
                })
                .await?;
            match answer {
                Ok(tokens) => Ok(HttpResponse::Ok()
                    .insert_header(("Cache-Control", "no-store"))
                    .json(tokens)),
                Err(d) => grant(d),
            }
        }
        "refresh_token" => {
            let Some(refresh) = &form.refresh_token else {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required",
                ));
            };
            let answer = conn
                .transaction::<_, ApiError, _>(async |conn| {
                    // A refresh token is used once: the answer carries a new one.
                    let found: Option<(Uuid, Vec<String>)> = diesel::update(
                        oauth_tokens::table.find(hash_token(refresh)).filter(
                            oauth_tokens::kind
                                .eq("refresh")
                                .and(oauth_tokens::client_id.eq(&client_id))
                                .and(oauth_tokens::revoked_at.is_null())
                                .and(oauth_tokens::expires_at.gt(Utc::now())),
                        ),
                    )
                    .set(oauth_tokens::revoked_at.eq(diesel::dsl::now))
                    .returning((oauth_tokens::earner_id, oauth_tokens::scopes))
                    .get_result(conn)
                    .await
                    .optional()?;
                    let Some((earner_id, mut scopes)) = found else {
                        return Ok(Err("unknown, used or expired refresh token"));
                    };
                    if let Some(narrower) = &form.scope {
                        let asked: Vec<String> = narrower.split_whitespace().map(str::to_owned).collect();
                        if asked.iter().any(|s| !scopes.contains(s)) {
                            return Ok(Err("scope wider than the grant"));
                        }
                        scopes = asked;
                    }
                    Ok(Ok(issue_tokens(conn, &client_id, earner_id, &scopes).await?))
                })
                .await?;
            match answer {
                Ok(tokens) => Ok(HttpResponse::Ok()
                    .insert_header(("Cache-Control", "no-store"))
                    .json(tokens)),
                Err(d) => grant(d),
            }
        }
        _ => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code or refresh_token",
        )),
    }
}

/// The earner a bearer token acts for, if it carries `scope`.
pub(crate) async fn bearer(
    state: &AppState,
    req: &HttpRequest,
    scope: &str,
) -> Result<Result<Earner, HttpResponse>, ApiError> {
    use actix_web::http::StatusCode;
    let Some(token) = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Ok(Err(status_info(
            StatusCode::UNAUTHORIZED,
            "failure",
            "a Bearer access token is required",
        )));
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let found: Option<(Uuid, Vec<String>)> = oauth_tokens::table
        .find(hash_token(token.trim()))
        .filter(
            oauth_tokens::kind
                .eq("access")
                .and(oauth_tokens::revoked_at.is_null())
                .and(oauth_tokens::expires_at.gt(Utc::now())),
        )
        .select((oauth_tokens::earner_id, oauth_tokens::scopes))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((earner_id, scopes)) = found else {
        return Ok(Err(status_info(
            StatusCode::UNAUTHORIZED,
            "failure",
            "unknown or expired access token",
        )));
    };
    if !scopes.iter().any(|s| s == scope) {
        return Ok(Err(status_info(
            StatusCode::FORBIDDEN,
            "failure",
            &format!("the token lacks the scope {scope}"),
        )));
    }
    Ok(Ok(earners::table
        .find(earner_id)
        .select(Earner::as_select())
        .first(&mut conn)
        .await?))
}

/// Paging.
#[derive(Debug, Deserialize)]
pub struct Paging {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub since: Option<chrono::DateTime<Utc>>,
}

/// One credential as the API returns it.
enum Item {
    Jws(String),
    Json(Value),
}

/// The earner's credentials, oldest first: Akashi's (not revoked) then added ones.
#[utoipa::path(
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("since" = Option<String>, Query)),
    responses((status = 200, description = "`{credential: [...], compactJwsString: [...]}` with X-Total-Count and Link"), (status = 401), (status = 403)),
)]
#[get("/ims/ob/v3p0/credentials")]
pub async fn get_credentials(
    state: web::Data<AppState>,
    req: HttpRequest,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, SCOPES[0]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let limit = paging.limit.unwrap_or(50);
    let offset = paging.offset.unwrap_or(0);
    if !(1..=500).contains(&limit) || offset < 0 {
        return Ok(status_info(
            actix_web::http::StatusCode::BAD_REQUEST,
            "failure",
            "limit 1-500, offset ≥ 0",
        ));
    }
    let since = paging.since.unwrap_or(chrono::DateTime::<Utc>::UNIX_EPOCH);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let issued: Vec<(chrono::DateTime<Utc>, Option<Value>, Option<String>)> = hosted_assertions::table
        .left_join(revocations::table.on(revocations::assertion_id.eq(hosted_assertions::id)))
        .filter(
            hosted_assertions::recipient_email
                .eq(&earner.email)
                .and(revocations::assertion_id.is_null())
                .and(hosted_assertions::ob3_credential.is_not_null())
                .and(hosted_assertions::issued_on.ge(since)),
        )
        .order((hosted_assertions::issued_on, hosted_assertions::id))
        .select((
            hosted_assertions::issued_on,
            hosted_assertions::ob3_credential,
            hosted_assertions::ob3_jwt,
        ))
        .load(&mut conn)
        .await?;
    let added: Vec<(chrono::DateTime<Utc>, Option<Value>, Option<String>)> = earner_credentials::table
        .filter(
            earner_credentials::earner_id
                .eq(earner.id)
                .and(earner_credentials::updated_at.ge(since))
                // OB 3.0 credentials only (an imported OB 2.0 badge is not one).
                .and(earner_credentials::format.like("ob3%")),
        )
        .order((earner_credentials::created_at, earner_credentials::id))
        .select((
            earner_credentials::updated_at,
            earner_credentials::credential,
            earner_credentials::compact_jws,
        ))
        .load(&mut conn)
        .await?;
    let all: Vec<Item> = issued
        .into_iter()
        .chain(added)
        .filter_map(|(_, json, jws)| match (jws, json) {
            (Some(j), _) => Some(Item::Jws(j)),
            (None, Some(v)) => Some(Item::Json(v)),
            _ => None,
        })
        .collect();
    let total = all.len() as i64;
    let (mut credential, mut compact) = (Vec::new(), Vec::new());
    for item in all.into_iter().skip(offset as usize).take(limit as usize) {
        match item {
            Item::Jws(j) => compact.push(json!(j)),
            Item::Json(v) => credential.push(v),
        }
    }
    let page = |o: i64| format!("<{}{BASE}/credentials?limit={limit}&offset={o}>", state.public_base);
    let mut links = vec![format!("{}; rel=\"first\"", page(0))];
    let last = if total == 0 { 0 } else { ((total - 1) / limit) * limit };
    links.push(format!("{}; rel=\"last\"", page(last)));
    if offset + limit < total {
        links.push(format!("{}; rel=\"next\"", page(offset + limit)));
    }
    if offset > 0 {
        links.push(format!("{}; rel=\"prev\"", page((offset - limit).max(0))));
    }
    let mut body = json!({});
    if !credential.is_empty() {
        body["credential"] = json!(credential);
    }
    if !compact.is_empty() {
        body["compactJwsString"] = json!(compact);
    }
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .insert_header(("Link", links.join(", ")))
        .json(body))
}

/// The id and type check of a posted credential.
fn credential_id(credential: &Value) -> Option<String> {
    let types = credential.get("type")?;
    let is_badge = |t: &Value| {
        t.as_str()
            .is_some_and(|s| s == "OpenBadgeCredential" || s == "AchievementCredential")
    };
    let ok = match types {
        Value::Array(a) => a.iter().any(is_badge),
        t => is_badge(t),
    };
    if !ok {
        return None;
    }
    credential
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 2000)
        .map(str::to_owned)
}

/// Adds or replaces a credential in the earner's backpack: JSON, or a
/// compact JWS as `text/plain`. 201 when new, 200 when replaced; the answer
/// is the credential as stored.
#[utoipa::path(
    request_body(content = String, description = "an OpenBadgeCredential (application/json) or its VC-JWT (text/plain)"),
    responses((status = 201), (status = 200), (status = 400), (status = 401), (status = 403)),
)]
#[post("/ims/ob/v3p0/credentials")]
pub async fn post_credential(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    let earner = match bearer(&state, &req, SCOPES[1]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    if body.len() > 1024 * 1024 {
        return Ok(status_info(StatusCode::PAYLOAD_TOO_LARGE, "failure", "at most 1 MiB"));
    }
    let content_type = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let (jws, json_form, claims) = if content_type.starts_with("text/plain") {
        let text = String::from_utf8_lossy(&body).trim().to_string();
        let payload = text
            .split('.')
            .nth(1)
            .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let Some(payload) = payload.filter(|_| text.split('.').count() == 3) else {
            return Ok(status_info(StatusCode::BAD_REQUEST, "failure", "not a compact JWS"));
        };
        // VCDM 1.1 credentials sit in the `vc` claim.
        let credential = payload.get("vc").cloned().unwrap_or(payload);
        (Some(text), None, credential)
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => (None, Some(v.clone()), v),
            Err(e) => {
                return Ok(status_info(
                    StatusCode::BAD_REQUEST,
                    "failure",
                    &format!("not JSON: {e}"),
                ));
            }
        }
    };
    let Some(id) = credential_id(&claims) else {
        return Ok(status_info(
            StatusCode::BAD_REQUEST,
            "failure",
            "an OpenBadgeCredential or AchievementCredential with an id",
        ));
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    let existed: i64 = earner_credentials::table
        .filter(
            earner_credentials::earner_id
                .eq(earner.id)
                .and(earner_credentials::credential_id.eq(&id)),
        )
        .count()
        .get_result(&mut conn)
        .await?;
    diesel::insert_into(earner_credentials::table)
        .values((
            earner_credentials::id.eq(Uuid::now_v7()),
            earner_credentials::earner_id.eq(earner.id),
            earner_credentials::credential_id.eq(&id),
            earner_credentials::compact_jws.eq(&jws),
            earner_credentials::credential.eq(&json_form),
        ))
        .on_conflict((earner_credentials::earner_id, earner_credentials::credential_id))
        .do_update()
        .set((
            earner_credentials::compact_jws.eq(&jws),
            earner_credentials::credential.eq(&json_form),
            earner_credentials::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    let status = if existed > 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(match jws {
        Some(j) => HttpResponse::build(status).content_type("text/plain").body(j),
        None => HttpResponse::build(status).json(json_form),
    })
}

fn profile_json(state: &AppState, earner: &Earner) -> Value {
    let mut p = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": format!("{}/earners/{}", state.public_base, earner.profile_slug),
        "type": ["Profile"],
        "email": earner.email,
    });
    if let Some(n) = &earner.display_name {
        p["name"] = json!(n);
    }
    p
}

/// The earner's profile.
#[utoipa::path(responses((status = 200), (status = 401), (status = 403)))]
#[get("/ims/ob/v3p0/profile")]
pub async fn get_profile(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    match bearer(&state, &req, SCOPES[2]).await? {
        Ok(e) => Ok(HttpResponse::Ok().json(profile_json(&state, &e))),
        Err(r) => Ok(r),
    }
}

/// Updates the earner's profile (its `name`; the e-mail is the sign-in
/// identity and does not change here).
#[utoipa::path(responses((status = 200), (status = 400), (status = 401), (status = 403)))]
#[put("/ims/ob/v3p0/profile")]
pub async fn put_profile(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let earner = match bearer(&state, &req, SCOPES[3]).await? {
        Ok(e) => e,
        Err(r) => return Ok(r),
    };
    let name = body.get("name").and_then(Value::as_str).map(str::trim);
    if let Some(n) = name {
        if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
            return Ok(status_info(
                actix_web::http::StatusCode::BAD_REQUEST,
                "failure",
                "name: 1-200 characters",
            ));
        }
        let mut conn = akashi_db::conn(&state.pool).await?;
        diesel::update(earners::table.find(earner.id))
            .set(earners::display_name.eq(n))
            .execute(&mut conn)
            .await?;
    }
    let updated = Earner {
        display_name: name.map(str::to_owned).or(earner.display_name.clone()),
        ..earner
    };
    Ok(HttpResponse::Ok().json(profile_json(&state, &updated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_per_rfc_7636_appendix_b() {
        // RFC 7636 Appendix B's example.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn redirects_must_be_https_or_loopback_http() {
        assert!(acceptable_redirect("https://app.example/cb"));
        assert!(acceptable_redirect("http://127.0.0.1:9000/cb"));
        assert!(!acceptable_redirect("http://app.example/cb"));
        assert!(!acceptable_redirect("https://app.example/cb#frag"));
        assert!(!acceptable_redirect("javascript:alert(1)"));
    }

    #[test]
    fn posted_credentials_must_be_badges_with_ids() {
        assert_eq!(
            credential_id(&json!({"id": "urn:uuid:1", "type": ["VerifiableCredential", "OpenBadgeCredential"]}))
                .as_deref(),
            Some("urn:uuid:1")
        );
        assert_eq!(
            credential_id(&json!({"id": "urn:uuid:1", "type": ["VerifiableCredential"]})),
            None
        );
        assert_eq!(credential_id(&json!({"type": "AchievementCredential"})), None);
    }
}
