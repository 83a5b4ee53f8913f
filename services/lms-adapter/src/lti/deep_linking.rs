//! Deep Linking 2.0: the tool's signed answer to an instructor's choice.

use serde_json::{Value, json};

use super::{CLAIM, DL_CLAIM};
use crate::db::models::PlatformRow;

/// The custom parameter that marks what a placed link shows.
pub const CUSTOM_VIEW: &str = "akashi_view";
/// The custom parameter naming the badge class a placed link shows.
pub const CUSTOM_BADGE_CLASS: &str = "akashi_badge_class_id";

/// An `ltiResourceLink` content item: a link in the course that launches
/// Akashi showing `custom`'s view.
pub fn resource_link(title: &str, launch_url: &str, custom: Value) -> Value {
    json!({
        "type": "ltiResourceLink",
        "title": title,
        "url": launch_url,
        "custom": custom,
    })
}

/// The claims of an `LtiDeepLinkingResponse` (to be signed with the tool's key).
pub fn response_claims(
    platform: &PlatformRow,
    deployment_id: &str,
    data: Option<&str>,
    items: Vec<Value>,
    now: i64,
) -> Value {
    let mut claims = json!({
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + 300,
        "nonce": uuid::Uuid::new_v4().to_string(),
        format!("{CLAIM}message_type"): "LtiDeepLinkingResponse",
        format!("{CLAIM}version"): "1.3.0",
        format!("{CLAIM}deployment_id"): deployment_id,
        format!("{DL_CLAIM}content_items"): items,
    });
    // `data` is echoed exactly when the request carried it.
    if let Some(d) = data {
        claims[format!("{DL_CLAIM}data")] = json!(d);
    }
    claims
}
