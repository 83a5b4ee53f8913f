//! Each LMS's own event format, parsed into [`CompletionEvent`]s.
//!
//! A parser returns every event a delivery carries (xAPI and Caliper batch
//! them) and an empty list for a delivery that is valid but not about
//! completion (Moodle's plugin forwards every event it is told to): those
//! are answered 200 `ignored` and nothing is stored.
//!
//! [`CompletionEvent`]: crate::domain::completion::CompletionEvent

pub mod caliper;
pub mod canvas;
pub mod generic;
pub mod moodle;
pub mod openedx;
pub mod xapi;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::completion::CompletionError;

/// Sources the contract names.
pub const KNOWN_SOURCES: [&str; 6] = ["generic", "moodle", "canvas", "xapi", "caliper", "openedx"];

/// An id that an LMS sends as a JSON number or a string.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A required id field.
pub(crate) fn required_id(value: Option<&Value>, field: &str) -> Result<String, CompletionError> {
    let id = id_text(value).ok_or_else(|| CompletionError::Field(format!("{field}: missing")))?;
    crate::domain::completion::bounded_id(field, &id)
}

/// An RFC 3339 time field, if present and not null.
pub(crate) fn time_field(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, CompletionError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| CompletionError::Field(format!("{field}: not an RFC 3339 time: {e}"))),
        Some(_) => Err(CompletionError::Field(format!("{field}: not a time"))),
    }
}

/// A number field sent as a number or a numeric string.
pub(crate) fn number_field(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a JSON body.
pub(crate) fn json(body: &[u8]) -> Result<Value, CompletionError> {
    serde_json::from_slice(body).map_err(|e| CompletionError::Json(e.to_string()))
}
