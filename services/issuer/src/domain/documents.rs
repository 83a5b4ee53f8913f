//! The Open Badges 2.0 documents the issuer builds, and the public URLs
//! (fixed by the contract) that are their ids.

use akashi_model::ob2::{
    Assertion, BadgeClass, CONTEXT_V2, Criteria, Evidence, IdentityObject, Profile, VerificationObject,
};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::db::models::{BadgeClassRow, IssuerRow, SigningKeyRow};
use crate::domain::languages::Translations;
use akashi_model::messages::{AwardUrls, EvidenceItem};

/// Builds the public URL of every hosted object from the configured bases.
#[derive(Debug, Clone)]
pub struct PublicLinks {
    issuer: String,
    host: String,
    display: String,
    verifier: String,
}

impl PublicLinks {
    /// Links under the public bases of issuer, host, display and verifier.
    pub fn new(issuer: &str, host: &str, display: &str, verifier: &str) -> Self {
        let trim = |s: &str| s.trim_end_matches('/').to_string();
        Self {
            issuer: trim(issuer),
            host: trim(host),
            display: trim(display),
            verifier: trim(verifier),
        }
    }
    /// `GET /issuers/{id}/jwks` on the issuer.
    pub fn jwks(&self, issuer_id: Uuid) -> String {
        format!("{}/issuers/{issuer_id}/jwks", self.issuer)
    }
    /// One JWK on the issuer: the `kid` of VC-JWTs, a URI that dereferences to the key.
    pub fn key_jwk(&self, issuer_id: Uuid, key_id: Uuid) -> String {
        format!("{}/issuers/{issuer_id}/keys/{key_id}", self.issuer)
    }
    /// `GET /ob2/keys/{id}` on host: the OB 2.0 CryptographicKey.
    pub fn ob2_key(&self, key_id: Uuid) -> String {
        format!("{}/ob2/keys/{key_id}", self.host)
    }
    /// `GET /ob2/signed/{id}` on host.
    pub fn ob2_signed(&self, award_id: Uuid) -> String {
        format!("{}/ob2/signed/{award_id}", self.host)
    }
    /// `GET /ob3/status/{issuer}/{list}` on host: a Bitstring Status List credential.
    pub fn status_list(&self, issuer_id: Uuid, list_no: i32) -> String {
        format!("{}/ob3/status/{issuer_id}/{list_no}", self.host)
    }
    /// `GET /ob3/credentials/{id}` on host.
    pub fn ob3_credential(&self, award_id: Uuid) -> String {
        format!("{}/ob3/credentials/{award_id}", self.host)
    }
    /// `GET /ob3/issuers/{id}` on host: the OB 3.0 issuer Profile, which is
    /// also the controller document of its Data Integrity keys.
    pub fn ob3_issuer(&self, id: Uuid) -> String {
        format!("{}/ob3/issuers/{id}", self.host)
    }
    /// The Multikey verification method of an Ed25519 key in that document.
    pub fn ob3_verification_method(&self, issuer_id: Uuid, key_id: Uuid) -> String {
        format!("{}#key-{key_id}", self.ob3_issuer(issuer_id))
    }
    /// `GET /ob3/revocations/{issuer_id}` on host: the 1EdTech revocation list.
    pub fn ob3_revocations(&self, issuer_id: Uuid) -> String {
        format!("{}/ob3/revocations/{issuer_id}", self.host)
    }
    /// `GET /blockcerts/{id}` on host: an award's Blockcerts certificate.
    pub fn blockcerts_certificate(&self, award_id: Uuid) -> String {
        format!("{}/blockcerts/{award_id}", self.host)
    }
    /// `GET /blockcerts/issuers/{id}` on host: the Blockcerts issuer profile.
    pub fn blockcerts_issuer(&self, id: Uuid) -> String {
        format!("{}/blockcerts/issuers/{id}", self.host)
    }
    /// An anchoring key in that profile: a proof's `verificationMethod`.
    pub fn blockcerts_verification_method(&self, issuer_id: Uuid, key_id: Uuid) -> String {
        format!("{}#key-{key_id}", self.blockcerts_issuer(issuer_id))
    }
    /// `GET /blockcerts/revocations/{issuer_id}` on host (`?assertionId=` filters).
    pub fn blockcerts_revocations(&self, issuer_id: Uuid) -> String {
        format!("{}/blockcerts/revocations/{issuer_id}", self.host)
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
    /// The badge class in another language: the same URL with `?lang=`.
    pub fn badge_class_edition(&self, id: Uuid, language: &str) -> String {
        format!("{}?lang={language}", self.badge_class(id))
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
            ob2_signed: None,
            ob3_credential: None,
            blockcerts: None,
            badge_page: format!("{}/badges/{id}", self.display),
            verify: format!("{}/verify", self.verifier),
        }
    }
}

/// ISO 8601 with a time zone, as OB 2.0 requires (`2026-11-27T09:00:00Z`).
pub fn ob_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The issuer's OB 2.0 Profile; `keys` are every key it ever signed with.
pub fn profile(issuer: &IssuerRow, keys: &[SigningKeyRow], links: &PublicLinks) -> Profile {
    Profile {
        context: CONTEXT_V2.into(),
        kind: "Issuer".into(),
        id: links.issuer(issuer.id),
        name: issuer.name.clone(),
        url: issuer.url.clone(),
        email: issuer.email.clone(),
        description: issuer.description.clone(),
        revocation_list: Some(links.revocations(issuer.id)),
        public_key: keys.iter().map(|k| links.ob2_key(k.id)).collect(),
    }
}

/// The OB 2.0 CryptographicKey of a signing key, owned by its issuer.
pub fn cryptographic_key(key: &SigningKeyRow, links: &PublicLinks) -> serde_json::Value {
    serde_json::json!({
        "@context": CONTEXT_V2,
        "type": "CryptographicKey",
        "id": links.ob2_key(key.id),
        "owner": links.issuer(key.issuer_id),
        "publicKeyPem": key.public_key_pem,
    })
}

/// The OB 3.0 issuer Profile, served at the issuer's OB 3.0 id. It is also
/// the controller document that Data Integrity verifiers resolve a proof's
/// verification method through (research notes §7): the DID and Multikey
/// contexts first, every Ed25519 key as a Multikey with an absolute id and
/// the issuer as controller, all of them in `assertionMethod`; the RSA keys
/// of VC-JWTs are listed too, as JsonWebKey methods whose id is the `kid`.
pub fn ob3_profile(issuer: &IssuerRow, keys: &[SigningKeyRow], links: &PublicLinks) -> serde_json::Value {
    let id = links.ob3_issuer(issuer.id);
    let methods: Vec<serde_json::Value> = keys
        .iter()
        .filter_map(|k| match k.algorithm.as_str() {
            "EdDSA" => {
                let raw = k.public_jwk["x"]
                    .as_str()
                    .and_then(|x| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, x).ok())?;
                Some(serde_json::json!({
                    "id": links.ob3_verification_method(issuer.id, k.id),
                    "type": "Multikey",
                    "controller": id,
                    "publicKeyMultibase": akashi_crypto::ed25519::multikey_from_raw(&raw),
                }))
            }
            // The anchoring account signs Ethereum transactions, never credentials.
            "ES256K" => None,
            _ => Some(serde_json::json!({
                "id": links.key_jwk(issuer.id, k.id),
                "type": "JsonWebKey",
                "controller": id,
                "publicKeyJwk": k.public_jwk,
            })),
        })
        .collect();
    let assertion: Vec<&serde_json::Value> = methods.iter().map(|m| &m["id"]).collect();
    serde_json::json!({
        "@context": [akashi_ld::contexts::DID_V1, akashi_ld::contexts::MULTIKEY_V1],
        "id": id,
        "type": "Profile",
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "verificationMethod": methods,
        "assertionMethod": assertion,
    })
}

/// The OB 2.0 signed form of an award: a `urn:uuid:` id, `SignedBadge` verification.
pub fn signed_assertion(hosted: &Assertion, award_id: Uuid, key_id: Uuid, links: &PublicLinks) -> Assertion {
    let mut signed = hosted.clone();
    signed.id = akashi_model::ob2::signed_assertion_id(&links.assertion(award_id));
    signed.verification = VerificationObject {
        kind: "SignedBadge".into(),
        creator: Some(links.ob2_key(key_id)),
    };
    signed
}

/// The OB 3.0 context list, in the order the spec requires, then the OB 3.0
/// extensions, which define the 1EdTech schema and revocation list types
/// (without it a safe-mode JSON-LD processor refuses them).
pub const OB3_CONTEXTS: [&str; 3] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
];

/// The OB 3.0 JSON schema every OpenBadgeCredential names.
pub const OB3_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";

/// The OB 3.0 `OpenBadgeCredential` (VCDM 2.0) of an award.
pub fn ob3_credential(
    issuer: &IssuerRow,
    badge: &BadgeClassRow,
    facts: &AssertionFacts<'_>,
    links: &PublicLinks,
) -> serde_json::Value {
    let mut achievement = serde_json::json!({
        "id": links.badge_class(badge.id),
        "type": ["Achievement"],
        "achievementType": "Badge",
        "name": badge.name,
        "description": badge.description,
        "criteria": {"narrative": badge.criteria_narrative},
        "image": {"id": links.badge_image(badge.id), "type": "Image"},
    });
    if let Some(url) = &badge.criteria_url {
        achievement["criteria"]["id"] = serde_json::json!(url);
    }
    // OB 3.0's way to say the achievement exists in other languages: its
    // own language, and the other editions as Related achievements.
    achievement["inLanguage"] = serde_json::json!(badge.language);
    let related: Vec<serde_json::Value> = Translations::from_json(&badge.translations)
        .iter()
        .map(|(language, _)| {
            serde_json::json!({
                "id": links.badge_class_edition(badge.id, language.tag()),
                "type": ["Related"],
                "inLanguage": language.tag(),
            })
        })
        .collect();
    if !related.is_empty() {
        achievement["related"] = serde_json::json!(related);
    }
    if !badge.tags.is_empty() {
        achievement["tag"] = serde_json::json!(badge.tags);
    }
    let alignments: Vec<serde_json::Value> = badge
        .alignments
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let mut alignment = a.clone();
            alignment["type"] = serde_json::json!(["Alignment"]);
            alignment
        })
        .collect();
    if !alignments.is_empty() {
        achievement["alignment"] = serde_json::json!(alignments);
    }
    let mut credential = serde_json::json!({
        "@context": OB3_CONTEXTS,
        "id": links.ob3_credential(facts.award_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": links.ob3_issuer(issuer.id),
            "type": ["Profile"],
            "name": issuer.name,
            "url": issuer.url,
            "email": issuer.email,
        },
        "name": badge.name,
        "validFrom": ob_datetime(facts.issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityHash": facts.identity_hash,
                "identityType": "emailAddress",
                "hashed": true,
                "salt": facts.salt,
            }],
            "achievement": achievement,
        },
        "credentialSchema": [{"id": OB3_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    });
    if let Some(expires) = facts.expires {
        credential["validUntil"] = serde_json::json!(ob_datetime(expires));
    }
    let evidence: Vec<serde_json::Value> = facts
        .evidence
        .iter()
        .map(|e| {
            let mut item = serde_json::json!({"type": ["Evidence"]});
            if let Some(url) = &e.url {
                item["id"] = serde_json::json!(url);
            }
            if let Some(n) = &e.narrative {
                item["narrative"] = serde_json::json!(n);
            }
            item
        })
        .collect();
    if !evidence.is_empty() {
        credential["evidence"] = serde_json::json!(evidence);
    }
    credential
}

/// The VC-JWT claims: the credential itself plus `iss`, `jti`, `nbf`, and
/// `sub`/`exp` where the credential has a subject id / an end (OB 3.0 §8.2).
pub fn vc_jwt_claims(
    credential: &serde_json::Value,
    issued_on: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
) -> serde_json::Value {
    let mut claims = credential.clone();
    // The issuer is a Profile object in OB 3.0 credentials, a plain id elsewhere.
    claims["iss"] = credential["issuer"].get("id").unwrap_or(&credential["issuer"]).clone();
    claims["jti"] = credential["id"].clone();
    claims["nbf"] = serde_json::json!(issued_on.timestamp());
    if let Some(subject) = credential["credentialSubject"]["id"].as_str() {
        claims["sub"] = serde_json::json!(subject);
    }
    if let Some(expires) = expires {
        claims["exp"] = serde_json::json!(expires.timestamp());
    }
    claims
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
        alignment: row.alignments.as_array().cloned().unwrap_or_default(),
    }
}

/// The badge class in each of its other languages, as OB 2.0 BadgeClass
/// documents keyed by language; each one's id is its own URL.
pub fn badge_class_editions(row: &BadgeClassRow, links: &PublicLinks) -> BTreeMap<String, serde_json::Value> {
    Translations::from_json(&row.translations)
        .iter()
        .map(|(language, texts)| {
            let mut edition = badge_class(row, links);
            edition.id = links.badge_class_edition(row.id, language.tag());
            edition.name = texts.name.clone();
            edition.description = texts.description.clone();
            edition.criteria.narrative = Some(texts.criteria.clone());
            (
                language.tag().to_string(),
                serde_json::to_value(edition).unwrap_or_default(),
            )
        })
        .collect()
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
            "http://127.0.0.1:8081",
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
        let links = PublicLinks::new("http://i", "http://h", "http://d", "http://v");
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
