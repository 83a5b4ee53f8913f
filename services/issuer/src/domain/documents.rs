//! The Open Badges 2.0 documents the issuer builds, and the public URLs
//! (fixed by the contract) that are their ids.

use akashi_model::ob2::{
    Assertion, BadgeClass, CONTEXT_V2, Criteria, Evidence, IdentityObject, Profile, VerificationObject,
};
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::db::models::{BadgeClassRow, IssuerRow};
use akashi_model::messages::{AwardUrls, EvidenceItem};

/// Builds the public URL of every hosted object from the configured bases.
#[derive(Debug, Clone)]
pub struct PublicLinks {
    host: String,
    display: String,
    verifier: String,
}

impl PublicLinks {
    /// Links under the public bases of host, display and verifier.
    pub fn new(host: &str, display: &str, verifier: &str) -> Self {
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        Self {
            host: trim(host),
            display: trim(display),
            verifier: trim(verifier),
        }
    }
    /// `GET /ob2/issuers/{id}` on host.
    pub fn issuer(&self, id: Uuid) -> String {
        format!("{}/ob2/issuers/{id}", self.host)
    }
    /// `GET /ob2/revocations/{issuer_id}` on host.
    pub fn revocations(&self, issuer_id: Uuid) -> String {
        format!("{}/ob2/revocations/{issuer_id}", self.host)
    }
    /// `GET /ob2/badges/{id}` on host.
    pub fn badge_class(&self, id: Uuid) -> String {
        format!("{}/ob2/badges/{id}", self.host)
    }
    /// The badge class image on host.
    pub fn badge_image(&self, id: Uuid) -> String {
        format!("{}/ob2/badges/{id}/image", self.host)
    }
    /// `GET /ob2/assertions/{id}` on host.
    pub fn assertion(&self, id: Uuid) -> String {
        format!("{}/ob2/assertions/{id}", self.host)
    }
    /// Every public URL of one award.
    pub fn award(&self, id: Uuid) -> AwardUrls {
        AwardUrls {
            ob2_assertion: self.assertion(id),
            badge_page: format!("{}/badges/{id}", self.display),
            verify: format!("{}/verify", self.verifier),
        }
    }
}

/// ISO 8601 with a time zone, as OB 2.0 requires (`2026-11-27T09:00:00Z`).
pub fn ob_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The issuer's OB 2.0 Profile.
pub fn profile(issuer: &IssuerRow, links: &PublicLinks) -> Profile {
    Profile {
        context: CONTEXT_V2.into(),
        kind: "Issuer".into(),
        id: links.issuer(issuer.id),
        name: issuer.name.clone(),
        url: issuer.url.clone(),
        email: issuer.email.clone(),
        description: issuer.description.clone(),
        revocation_list: Some(links.revocations(issuer.id)),
    }
}

/// The OB 2.0 BadgeClass.
pub fn badge_class(row: &BadgeClassRow, links: &PublicLinks) -> BadgeClass {
    BadgeClass {
        context: CONTEXT_V2.into(),
        kind: "BadgeClass".into(),
        id: links.badge_class(row.id),
        name: row.name.clone(),
        description: row.description.clone(),
        image: links.badge_image(row.id),
        criteria: Criteria {
            id: row.criteria_url.clone(),
            narrative: Some(row.criteria_narrative.clone()),
        },
        issuer: links.issuer(row.issuer_id),
        tags: row.tags.clone(),
    }
}

/// What an assertion says about its recipient and award.
pub struct AssertionFacts<'a> {
    pub award_id: Uuid,
    pub badge_class_id: Uuid,
    pub identity_hash: &'a str,
    pub salt: &'a str,
    pub issued_on: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    pub narrative: Option<&'a str>,
    pub evidence: &'a [EvidenceItem],
}

/// The OB 2.0 hosted Assertion.
pub fn assertion(facts: &AssertionFacts<'_>, links: &PublicLinks) -> Assertion {
    Assertion {
        context: CONTEXT_V2.into(),
        kind: "Assertion".into(),
        id: links.assertion(facts.award_id),
        recipient: IdentityObject {
            kind: "email".into(),
            identity: facts.identity_hash.into(),
            hashed: true,
            salt: Some(facts.salt.into()),
        },
        badge: links.badge_class(facts.badge_class_id),
        verification: VerificationObject {
            kind: "hosted".into(),
            creator: None,
        },
        issued_on: ob_datetime(facts.issued_on),
        expires: facts.expires.map(ob_datetime),
        image: None,
        narrative: facts.narrative.map(str::to_owned),
        evidence: facts
            .evidence
            .iter()
            .map(|e| Evidence {
                id: e.url.clone(),
                narrative: e.narrative.clone(),
            })
            .collect(),
        revoked: None,
        revocation_reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_contract_paths_on_host() {
        let links = PublicLinks::new(
            "http://127.0.0.1:8082/",
            "http://127.0.0.1:8083",
            "http://127.0.0.1:8084",
        );
        let id = Uuid::nil();
        assert_eq!(
            links.assertion(id),
            format!("http://127.0.0.1:8082/ob2/assertions/{id}")
        );
        assert_eq!(links.badge_class(id), format!("http://127.0.0.1:8082/ob2/badges/{id}"));
        assert_eq!(links.issuer(id), format!("http://127.0.0.1:8082/ob2/issuers/{id}"));
        assert_eq!(links.award(id).badge_page, format!("http://127.0.0.1:8083/badges/{id}"));
    }

    #[test]
    fn assertion_dates_carry_a_time_zone() {
        let links = PublicLinks::new("http://h", "http://d", "http://v");
        let t = DateTime::parse_from_rfc3339("2026-11-27T09:00:00+09:00")
            .unwrap()
            .with_timezone(&Utc);
        let a = assertion(
            &AssertionFacts {
                award_id: Uuid::nil(),
                badge_class_id: Uuid::nil(),
                identity_hash: "sha256$00",
                salt: "s",
                issued_on: t,
                expires: None,
                narrative: None,
                evidence: &[],
            },
            &links,
        );
        assert_eq!(a.issued_on, "2026-11-27T00:00:00Z");
        assert_eq!(a.verification.kind, "hosted");
        assert!(a.recipient.hashed);
    }
}
