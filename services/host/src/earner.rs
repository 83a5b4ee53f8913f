//! Signed-in earners: a session cookie (HttpOnly, SameSite=Lax) whose
//! token is stored only as a hash.

use actix_web::HttpRequest;
use akashi_crypto::token::hash_token;
use akashi_runtime::ApiError;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{earner_sessions, earners};

/// The session cookie.
pub const SESSION_COOKIE: &str = "akashi_session";
/// How long a session lasts, days.
pub const SESSION_DAYS: i64 = 30;

/// A signed-in earner.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = earners)]
pub struct Earner {
    pub id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    pub profile_slug: String,
    pub profile_public: bool,
    /// Their name stays off the public pages of their badges.
    pub hide_name: bool,
}

/// The earner whose session cookie the request carries, if any.
pub async fn current(conn: &mut AsyncPgConnection, req: &HttpRequest) -> Result<Option<Earner>, ApiError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(earner_sessions::table
        .inner_join(earners::table)
        .filter(
            earner_sessions::token_hash
                .eq(hash_token(cookie.value()))
                .and(earner_sessions::expires_at.gt(Utc::now())),
        )
        .select(Earner::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The signed-in earner, or 401 for an API call without a session.
pub async fn required(conn: &mut AsyncPgConnection, req: &HttpRequest) -> Result<Earner, ApiError> {
    current(conn, req)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("not signed in".into()))
}

/// The CSRF token of the request's session, if it has one: a hash of the
/// session id under a label of its own. Only a page of this site (which
/// the session cookie, HttpOnly, reaches) can know it; nothing is stored.
pub fn csrf_token(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .map(|c| hash_token(&format!("akashi-csrf:{}", c.value())))
}

/// Checks a signed-in earner's form post: sent from host's own pages
/// (`Origin`/`Referer`, see [`akashi_runtime::http::from_own_origin`]) and
/// carrying the session's CSRF token.
pub fn check_form(req: &HttpRequest, public_base: &str, presented: Option<&str>) -> Result<(), ApiError> {
    check_origin(req, public_base)?;
    match (csrf_token(req), presented) {
        (Some(expected), Some(presented)) if akashi_crypto::token::constant_time_eq(&expected, presented) => Ok(()),
        _ => Err(ApiError::Forbidden(
            "csrf_token: the form's token is missing or wrong; reload the page".into(),
        )),
    }
}

/// Checks that a form post (before any session: signing in) comes from
/// host's own pages.
pub fn check_origin(req: &HttpRequest, public_base: &str) -> Result<(), ApiError> {
    if akashi_runtime::http::from_own_origin(req, public_base) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "cross_site_form: this form is accepted only from this site's own pages at {public_base}"
        )))
    }
}

/// `ja` or `en`, from `?lang=` or `Accept-Language` (weights honoured).
pub fn language(req: &HttpRequest) -> &'static str {
    let accept = req.headers().get("Accept-Language").and_then(|v| v.to_str().ok());
    let explicit = akashi_model::Lang::from_query(req.query_string()).map(akashi_model::Lang::tag);
    akashi_model::Lang::negotiate(explicit, accept).tag()
}

/// A same-site path to go to after signing in: relative, never `//host`.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 2000)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/backpack")).as_deref(), Some("/backpack"));
        assert_eq!(
            safe_next(Some("/ims/ob/v3p0/authorize?x=1")).as_deref(),
            Some("/ims/ob/v3p0/authorize?x=1")
        );
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(None), None);
    }
}
