//! The verification report: a stable, documented shape (see docs/api.md).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The overall verdict.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Expired,
    Unknown,
    Invalid,
    Revoked,
}

impl Status {
    /// The word used in the report and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Expired => "expired",
            Status::Unknown => "unknown",
            Status::Invalid => "invalid",
            Status::Revoked => "revoked",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Warning,
    Skipped,
}

/// A reason a person can read, in English and Japanese.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Reason {
    pub en: String,
    pub ja: String,
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// Stable identifier, e.g. `assertion_id_matches_url`.
    pub id: &'static str,
    pub outcome: Outcome,
    pub reason: Reason,
    /// What a failure of this check makes of the whole badge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_means: Option<Status>,
}

/// The issuer as verified.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuerSummary {
    pub id: String,
    pub name: Option<String>,
    /// Whether the issuer is on the operator's trusted list.
    pub trusted: bool,
}

/// The badge class as verified.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BadgeSummary {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
}

/// Whether the recipient matched the expected one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientMatch {
    /// Whether an expected recipient was given.
    pub checked: bool,
    /// `true`/`false` when checked.
    pub matched: Option<bool>,
}

/// The answer of `POST /verify`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193f7c2-5b1e-7a40-9c1d-2f6e8a1b3c4d",
    "status": "revoked",
    "format": "ob3-vcjwt",
    "credential_id": "https://badges.example.ac.jp/ob3/credentials/0193f7c2-0000-7000-8000-000000000001",
    "issuer": {"id": "https://badges.example.ac.jp/ob3/issuers/0193f7c2-0000-7000-8000-0000000000aa", "name": "Akashi Demo University", "trusted": true},
    "badge": {"id": "https://badges.example.ac.jp/ob2/badges/0193f7c2-0000-7000-8000-0000000000bb", "name": "Introduction to Data Science", "description": "Awarded for completing DEMO-101.", "image": "https://badges.example.ac.jp/ob2/badges/0193f7c2-0000-7000-8000-0000000000bb/image"},
    "recipient": {"checked": true, "matched": true},
    "issued_on": "2026-11-27T02:58:33Z",
    "expires": null,
    "checks": [
        {"id": "signature", "outcome": "passed", "reason": {"en": "The signature verifies under the issuer's key.", "ja": "発行者の鍵で署名を検証できました。"}},
        {"id": "status", "outcome": "failed", "failure_means": "revoked", "reason": {"en": "The issuer revoked this credential.", "ja": "発行者はこの資格情報を失効させました。"}}
    ],
    "verified_at": "2026-11-27T03:00:00Z",
    "elapsed_ms": 4
}))]
pub struct Report {
    pub id: Uuid,
    pub status: Status,
    /// `ob2-hosted`, or `null` when the input was not recognised.
    pub format: Option<String>,
    pub credential_id: Option<String>,
    pub issuer: Option<IssuerSummary>,
    pub badge: Option<BadgeSummary>,
    pub recipient: RecipientMatch,
    pub issued_on: Option<String>,
    pub expires: Option<String>,
    pub checks: Vec<Check>,
    pub verified_at: DateTime<Utc>,
    pub elapsed_ms: u64,
}

/// The id of the check that records an input over a processing limit.
const TOO_COMPLEX: &str = "complexity";

/// Collects checks while a verification runs.
#[derive(Debug, Default)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    /// Records a passed check.
    pub fn pass(&mut self, id: &'static str, en: impl Into<String>, ja: impl Into<String>) {
        self.push(id, Outcome::Passed, None, en, ja);
    }
    /// Records a failed check and what it means for the badge.
    pub fn fail(&mut self, id: &'static str, means: Status, en: impl Into<String>, ja: impl Into<String>) {
        self.push(id, Outcome::Failed, Some(means), en, ja);
    }
    /// Records a warning (does not change the verdict).
    pub fn warn(&mut self, id: &'static str, en: impl Into<String>, ja: impl Into<String>) {
        self.push(id, Outcome::Warning, None, en, ja);
    }
    /// Records a check that did not apply.
    pub fn skip(&mut self, id: &'static str, en: impl Into<String>, ja: impl Into<String>) {
        self.push(id, Outcome::Skipped, None, en, ja);
    }

    fn push(
        &mut self,
        id: &'static str,
        outcome: Outcome,
        failure_means: Option<Status>,
        en: impl Into<String>,
        ja: impl Into<String>,
    ) {
        self.0.push(Check {
            id,
            outcome,
            failure_means,
            reason: Reason {
                en: en.into(),
                ja: ja.into(),
            },
        });
    }

    /// Records that the input is over a processing limit (see
    /// `akashi_ld::canon::LIMITS`): `POST /verify` answers it as a 422
    /// `too_complex` rather than a verdict, since nothing was verified.
    pub fn too_complex(&mut self, why: impl std::fmt::Display) {
        self.push(
            TOO_COMPLEX,
            Outcome::Failed,
            Some(Status::Invalid),
            format!("The credential is too complex to verify: {why}."),
            format!("資格情報が複雑すぎて検証できません: {why}"),
        );
    }

    /// The reason of a [`Checks::too_complex`] record, if one was made.
    pub fn too_complex_reason(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|c| c.id == TOO_COMPLEX)
            .map(|c| c.reason.en.as_str())
    }

    /// The verdict: the worst meaning among failed checks, `valid` if none failed.
    pub fn verdict(&self) -> Status {
        self.0
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .filter_map(|c| c.failure_means)
            .max()
            .unwrap_or(Status::Valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_the_worst_failure() {
        let mut c = Checks::default();
        c.pass("a", "ok", "ok");
        assert_eq!(c.verdict(), Status::Valid);
        c.warn("b", "hm", "hm");
        assert_eq!(c.verdict(), Status::Valid, "warnings do not change the verdict");
        c.fail("c", Status::Expired, "expired", "期限切れ");
        assert_eq!(c.verdict(), Status::Expired);
        c.fail("d", Status::Invalid, "bad", "不正");
        assert_eq!(c.verdict(), Status::Invalid);
        c.fail("e", Status::Revoked, "revoked", "取り消し");
        assert_eq!(c.verdict(), Status::Revoked);
    }
}
