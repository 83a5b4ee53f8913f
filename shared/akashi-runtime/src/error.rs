//! The one JSON error shape every service answers with:
//! `{"error": {"code": "<machine-readable>", "message": "<for a person>"}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An HTTP API error with a stable machine-readable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    /// 406: the resource exists, but not in the representation asked for.
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    /// 429, with the seconds to wait in `Retry-After`.
    #[error("{message}")]
    TooManyRequests { retry_after_secs: u64, message: String },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    /// A 422 with a code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }
    /// A 422 `invalid_field`: a field failed validation (the message names it).
    pub fn invalid_field(message: impl std::fmt::Display) -> Self {
        Self::unprocessable("invalid_field", message.to_string())
    }
    /// A 500 from any error; the details are logged, not returned.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{e}"))
    }

    /// The machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::NotAcceptable(_) => "not_acceptable",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable(_) => "unavailable",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Self::internal(format!("database: {e}"))
    }
}

impl From<akashi_db::DbError> for ApiError {
    fn from(e: akashi_db::DbError) -> Self {
        Self::Unavailable(format!("database unavailable: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = %e, "internal error");
        }
        let mut message = self.to_string();
        // A 503 says which dependency is missing, never where it lives: the
        // full text (with a peer's URL or a file's path) goes to the log.
        if let Self::Unavailable(detail) = self {
            tracing::warn!(error = %detail, "unavailable");
            message = without_locations(detail);
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Self::TooManyRequests { retry_after_secs, .. } = self {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        response.json(json!({"error": {"code": self.specific_code(), "message": message}}))
    }
}

impl ApiError {
    /// The code an API client branches on: a message written as
    /// `specific_code: explanation` (`signature_stale: …`, `course_claimed: …`,
    /// `csrf_token: …`) gives its specific code; otherwise the generic one
    /// of the status ([`ApiError::code`]).
    pub fn specific_code(&self) -> String {
        let generic = self.code();
        let message = match self {
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Conflict(m) | Self::Gone(m) => m,
            _ => return generic.to_string(),
        };
        match message.split_once(": ") {
            Some((code, _))
                if code.len() <= 40
                    && code.contains('_')
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                code.to_string()
            }
            _ => generic.to_string(),
        }
    }
}

/// `text` with every URL and absolute file path replaced by a placeholder,
/// for error bodies: `error sending request for url (http://10.0.0.7:8084/verify)`
/// becomes `error sending request for url (<address>)`.
pub fn without_locations(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_start_matches(['(', '"', '\'', '[', '<']);
            let lead = &word[..word.len() - trimmed.len()];
            let core_end = trimmed
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | ']' | '>' | ','))
                .unwrap_or(trimmed.len());
            // A trailing colon or period ends the sentence, not the location.
            let core_end = trimmed[..core_end].trim_end_matches([':', '.', ';']).len();
            let (core, tail) = trimmed.split_at(core_end);
            let is_url = core.contains("://");
            let is_path = core.starts_with('/') && core[1..].contains('/');
            if is_url || is_path {
                format!("{lead}<{}>{tail}", if is_url { "address" } else { "path" })
            } else {
                word.to_string()
            }
        })
        .collect()
}

/// JSON body errors (bad syntax, wrong types) as our error shape, not actix's text.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            let e = match &err {
                actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                | actix_web::error::JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge(err.to_string()),
                actix_web::error::JsonPayloadError::ContentType => {
                    ApiError::UnsupportedMediaType("expected Content-Type: application/json".into())
                }
                _ => ApiError::unprocessable("invalid_json", err.to_string()),
            };
            e.into()
        })
}

/// Query-string errors in our error shape.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::bad_request("invalid_query", err.to_string()).into())
}

/// Path errors (e.g. a malformed UUID) in our error shape: 404, since no such resource exists.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default()
        .error_handler(|err, _req| ApiError::NotFound(format!("no such resource: {err}")).into())
}

#[cfg(test)]
mod code_tests {
    use super::ApiError;

    #[test]
    fn a_refusal_names_its_specific_reason() {
        let stale = ApiError::Unauthorized("signature_stale: the delivery is older than 300 s".into());
        assert_eq!(stale.specific_code(), "signature_stale");
        let claimed = ApiError::Conflict("course_claimed: the course \"X\" belongs to another tenant".into());
        assert_eq!(claimed.specific_code(), "course_claimed");
        // Plain sentences keep the generic code.
        assert_eq!(ApiError::NotFound("no such badge".into()).specific_code(), "not_found");
        assert_eq!(
            ApiError::Unauthorized("Bearer token: unknown".into()).specific_code(),
            "unauthorized"
        );
        assert_eq!(
            ApiError::Forbidden("webhook sources: platform-wide".into()).specific_code(),
            "forbidden"
        );
    }
}

#[cfg(test)]
mod location_tests {
    use super::without_locations;

    #[test]
    fn addresses_and_paths_leave_error_bodies() {
        assert_eq!(
            without_locations("the verifier: error sending request for url (http://10.0.0.7:8084/verify)"),
            "the verifier: error sending request for url (<address>)"
        );
        assert_eq!(
            without_locations("certificate_font: /usr/share/fonts/opentype/ipag.ttf: No such file"),
            "certificate_font: <path>: No such file"
        );
        assert_eq!(
            without_locations("host answered 502 Bad Gateway"),
            "host answered 502 Bad Gateway"
        );
    }
}
