//! The CloudEvents 1.0 envelope (structured JSON mode) around every payload.
//!
//! Spec: <https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md>.
//! `correlationid` is an extension attribute carrying the id of the request
//! or LMS event that started the chain, so one award can be followed
//! through all five services' logs.

use akashi_model::messages::BusMessage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A CloudEvents envelope with a payload of type `T`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope<T> {
    pub specversion: String,
    pub id: Uuid,
    /// The producing service, as a URI reference (`/akashi/issuer`).
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    pub data: T,
}

impl<M: BusMessage> Envelope<M> {
    /// Wraps a payload with a fresh id and the current time.
    pub fn new(service: &str, data: M, correlation_id: Option<String>) -> Self {
        Self {
            specversion: "1.0".into(),
            id: Uuid::now_v7(),
            source: format!("/akashi/{service}"),
            event_type: M::EVENT_TYPE.into(),
            time: Utc::now(),
            datacontenttype: "application/json".into(),
            subject: None,
            correlationid: correlation_id,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akashi_model::messages::AdminTokenRevoked;

    #[test]
    fn serialises_cloudevents_attributes() {
        let env = Envelope::new(
            "issuer",
            AdminTokenRevoked { token_id: Uuid::nil() },
            Some("req-1".into()),
        );
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["type"], "dev.akashi.admin.token.revoked.v1");
        assert_eq!(v["source"], "/akashi/issuer");
        assert_eq!(v["datacontenttype"], "application/json");
        assert_eq!(v["correlationid"], "req-1");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        let back: Envelope<AdminTokenRevoked> = serde_json::from_value(v).unwrap();
        assert_eq!(back, env);
    }
}
