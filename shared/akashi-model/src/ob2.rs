//! Open Badges 2.0 documents, with the spec's names.
//!
//! Spec: <https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html>.
//! Hosted documents are JSON-LD; every `id` is the URL the document is served at.

use serde::{Deserialize, Serialize};

/// The OB 2.0 JSON-LD context every hosted document carries.
pub const CONTEXT_V2: &str = "https://w3id.org/openbadges/v2";

/// The `urn:uuid:` id of an award's signed form, derived from its hosted URL
/// (UUID v5 in the URL namespace), so that every service computes the same
/// one. Version 5 because consumers such as the 1EdTech validator accept
/// only UUID versions 1 to 5 in a `urn:uuid:`.
pub fn signed_assertion_id(hosted_assertion_url: &str) -> String {
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, hosted_assertion_url.as_bytes())
    )
}

/// [Assertion](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#Assertion):
/// one award of a badge class to one recipient.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Assertion {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub recipient: IdentityObject,
    pub badge: String,
    pub verification: VerificationObject,
    /// ISO 8601 with a time zone, as the spec requires.
    pub issued_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidence: Vec<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

/// [IdentityObject](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#IdentityObject):
/// who received the badge, usually as a salted hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub identity: String,
    pub hashed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// [VerificationObject](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#VerificationObject).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VerificationObject {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
}

/// [Evidence](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#Evidence).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// [BadgeClass](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#BadgeClass):
/// what an earner achieved, as the issuer describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BadgeClass {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub image: String,
    pub criteria: Criteria,
    pub issuer: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tags: Vec<String>,
    /// AlignmentObjects (`targetName`, `targetUrl`, …).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub alignment: Vec<serde_json::Value>,
}

/// [Criteria](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#Criteria).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Criteria {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// [Profile](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#Profile)
/// of an issuer organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub name: String,
    pub url: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_list: Option<String>,
    /// URLs of the issuer's CryptographicKeys (signed badges).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub public_key: Vec<String>,
}

/// [RevocationList](https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html#RevocationList).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RevocationList {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub issuer: String,
    pub revoked_assertions: Vec<RevokedAssertion>,
}

/// One entry of a [`RevocationList`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RevokedAssertion {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_ids_are_stable_version_5_urns() {
        let a = signed_assertion_id("http://h/ob2/assertions/1");
        assert_eq!(a, signed_assertion_id("http://h/ob2/assertions/1"));
        assert_ne!(a, signed_assertion_id("http://h/ob2/assertions/2"));
        let uuid = uuid::Uuid::parse_str(a.strip_prefix("urn:uuid:").unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 5);
    }

    #[test]
    fn assertion_serialises_with_spec_names() {
        let a = Assertion {
            context: CONTEXT_V2.into(),
            kind: "Assertion".into(),
            id: "http://h/ob2/assertions/1".into(),
            recipient: IdentityObject {
                kind: "email".into(),
                identity: "sha256$ab".into(),
                hashed: true,
                salt: Some("s".into()),
            },
            badge: "http://h/ob2/badges/2".into(),
            verification: VerificationObject {
                kind: "hosted".into(),
                creator: None,
            },
            issued_on: "2026-11-27T09:00:00+00:00".into(),
            expires: None,
            image: None,
            narrative: None,
            evidence: vec![],
            revoked: None,
            revocation_reason: None,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["@context"], CONTEXT_V2);
        assert_eq!(v["issuedOn"], "2026-11-27T09:00:00+00:00");
        assert_eq!(v["recipient"]["type"], "email");
        assert!(v.get("expires").is_none(), "absent optional fields are omitted");
        let back: Assertion = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }
}
