//! The verifier's report as pages show it: the status in words and each
//! check's reason in the page's language.

use serde_json::Value;

use crate::domain::lang::{Lang, Texts};

/// The words for a report status.
pub fn status_text(t: &Texts, status: &str) -> &'static str {
    match status {
        "valid" => t.valid,
        "revoked" => t.revoked,
        "expired" => t.expired,
        "invalid" => t.invalid,
        _ => t.unknown,
    }
}

/// Each check as (CSS class of its outcome, reason in `lang`).
pub fn checks(report: &Value, lang: Lang) -> Vec<(&'static str, String)> {
    report["checks"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| {
                    let outcome = match c["outcome"].as_str() {
                        Some("passed") => "passed",
                        Some("failed") => "failed",
                        Some("warning") => "warning",
                        _ => "skipped",
                    };
                    (
                        outcome,
                        c["reason"][lang.tag()].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
