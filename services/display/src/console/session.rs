//! Console sessions, kept on the server.
//!
//! The browser holds a random session id (in an HttpOnly, SameSite=Strict
//! cookie); display keeps its hash, the admin token it stands for and the
//! session's CSRF token. Signing out revokes the row, so a copied cookie is
//! worthless afterwards, and the admin token never travels to the browser
//! after sign-in.
//!
//! Every state-changing form is checked twice: its `Origin` (or, without
//! one, its `Referer`) must be the console's configured public origin —
//! never a `Host` or `X-Forwarded-Host` the request chose — and it must
//! carry the session's CSRF token (`?csrf=` on the form's action, so that
//! multipart uploads carry it too).

use actix_web::{HttpMessage, HttpRequest};
use akashi_crypto::token::{constant_time_eq, generate_token, hash_token};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::console_sessions;
use crate::startup::AppState;

/// How long a console sign-in lasts.
pub const SESSION_HOURS: i64 = 8;

/// A signed-in console session.
#[derive(Debug, Clone)]
pub struct Session {
    pub admin_token: String,
    pub csrf_token: String,
}

/// The session's CSRF token, left in the request for the page chrome.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Why a session could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
}

/// Starts a session for `admin_token`; answers the id for the cookie.
pub async fn start(state: &AppState, admin_token: &str) -> Result<String, SessionError> {
    let id = generate_token();
    let mut conn = akashi_db::conn(&state.pool)
        .await
        .map_err(|e| SessionError::Pool(e.to_string()))?;
    let now = Utc::now();
    // Expired sessions are swept as new ones start (sign-ins are rare).
    diesel::delete(console_sessions::table.filter(console_sessions::expires_at.lt(now)))
        .execute(&mut conn)
        .await?;
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id_hash.eq(hash_token(&id)),
            console_sessions::admin_token.eq(admin_token),
            console_sessions::csrf_token.eq(generate_token()),
            console_sessions::expires_at.eq(now + Duration::hours(SESSION_HOURS)),
        ))
        .execute(&mut conn)
        .await?;
    Ok(id)
}

/// The live session the cookie value `id` names, if any; its CSRF token is
/// left in `req`'s extensions for the page chrome.
pub async fn find(state: &AppState, req: &HttpRequest, id: &str) -> Result<Option<Session>, SessionError> {
    let mut conn = akashi_db::conn(&state.pool)
        .await
        .map_err(|e| SessionError::Pool(e.to_string()))?;
    let row: Option<(String, String, DateTime<Utc>)> = console_sessions::table
        .find(hash_token(id))
        .filter(console_sessions::revoked_at.is_null())
        .select((
            console_sessions::admin_token,
            console_sessions::csrf_token,
            console_sessions::expires_at,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let session = row
        .filter(|(_, _, expires)| *expires > Utc::now())
        .map(|(admin_token, csrf_token, _)| Session {
            admin_token,
            csrf_token,
        });
    if let Some(s) = &session {
        req.extensions_mut().insert(CsrfToken(s.csrf_token.clone()));
    }
    Ok(session)
}

/// Ends the session the cookie value `id` names.
pub async fn end(state: &AppState, id: &str) -> Result<(), SessionError> {
    let mut conn = akashi_db::conn(&state.pool)
        .await
        .map_err(|e| SessionError::Pool(e.to_string()))?;
    diesel::update(console_sessions::table.find(hash_token(id)))
        .set(console_sessions::revoked_at.eq(diesel::dsl::now))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Whether the request carries the session's CSRF token (`?csrf=`).
pub fn csrf_matches(req: &HttpRequest, session: &Session) -> bool {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "csrf")
        .is_some_and(|(_, v)| constant_time_eq(&v, &session.csrf_token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    use akashi_runtime::http::from_own_origin;

    #[test]
    fn only_the_configured_origin_posts() {
        let base = "http://127.0.0.1:8083";
        let with = |name: &str, value: &str| TestRequest::post().insert_header((name, value)).to_http_request();
        assert!(from_own_origin(&with("Origin", "http://127.0.0.1:8083"), base));
        assert!(!from_own_origin(&with("Origin", "http://evil.example"), base));
        assert!(!from_own_origin(&with("Origin", "null"), base));
        assert!(from_own_origin(
            &with("Referer", "http://127.0.0.1:8083/console/rules"),
            base
        ));
        assert!(!from_own_origin(&with("Referer", "http://evil.example/console"), base));
        // Neither header: refused.
        assert!(!from_own_origin(&TestRequest::post().to_http_request(), base));
        // A forwarded host the request chose changes nothing.
        let forwarded = TestRequest::post()
            .insert_header(("Origin", "http://evil.example"))
            .insert_header(("X-Forwarded-Host", "evil.example"))
            .insert_header(("Host", "evil.example"))
            .to_http_request();
        assert!(!from_own_origin(&forwarded, base));
    }

    #[test]
    fn the_csrf_token_comes_from_the_query() {
        let session = Session {
            admin_token: "t".into(),
            csrf_token: "abc".into(),
        };
        let req = |uri: &str| TestRequest::post().uri(uri).to_http_request();
        assert!(csrf_matches(&req("/console/rules?csrf=abc"), &session));
        assert!(!csrf_matches(&req("/console/rules?csrf=abd"), &session));
        assert!(!csrf_matches(&req("/console/rules"), &session));
    }
}
