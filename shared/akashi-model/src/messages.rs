//! Payloads of the messages the services exchange (the `data` of each
//! CloudEvents envelope). `docs/messages.md` is the catalogue for humans.
//!
//! Each payload names its routing key and a versioned CloudEvents `type`; a
//! breaking change gets a new version, never an edited payload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::EmailAddress;

/// A payload that travels on the bus under a fixed routing key and type.
pub trait BusMessage: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The topic exchange routing key, e.g. `issue.requested`.
    const ROUTING_KEY: &'static str;
    /// The CloudEvents `type`, versioned, e.g. `dev.akashi.issue.requested.v1`.
    const EVENT_TYPE: &'static str;
}

macro_rules! bus_message {
    ($ty:ty, $key:literal, $version:literal) => {
        impl BusMessage for $ty {
            const ROUTING_KEY: &'static str = $key;
            const EVENT_TYPE: &'static str = concat!("dev.akashi.", $key, ".", $version);
        }
    };
}

/// The learner an award is for, as the LMS described them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recipient {
    pub email: EmailAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lms_user_id: Option<String>,
}

/// Where an award request came from, kept for the decision trail.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AwardOrigin {
    /// `lms` for a rule decision, `admin` for a manual award.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_id: Option<String>,
    /// For a re-issue: the award this one corrects and replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
}

/// One piece of evidence attached to an award.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvidenceItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// lms-adapter → issuer: a learner has earned a badge; issue it once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssueRequested {
    /// (rule, learner, course run): the same key never yields two badges.
    pub idempotency_key: String,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub recipient: Recipient,
    pub origin: AwardOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceItem>,
    /// When the award expires, if its rule says so (else the badge class's
    /// own expiry applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}
bus_message!(IssueRequested, "issue.requested", "v1");

/// The public URLs of one award, per format it was issued in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AwardUrls {
    pub ob2_assertion: String,
    /// The OB 2.0 signed form (compact JWS), if issued in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ob2_signed: Option<String>,
    /// The OB 3.0 credential (JSON, or its VC-JWT), if issued in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ob3_credential: Option<String>,
    /// The Blockcerts v3 certificate, if issued in it: served once its
    /// batch is anchored (`blockcerts.issued`), 404 until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockcerts: Option<String>,
    pub badge_page: String,
    pub verify: String,
}

/// issuer → host, display: a credential exists; host serves it, display shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BadgeIssued {
    pub award_id: Uuid,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub recipient: Recipient,
    pub issued_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
    /// The OB 2.0 hosted Assertion, exactly as it must be served.
    pub ob2_assertion: serde_json::Value,
    /// The OB 2.0 signed Assertion as a compact JWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ob2_signed_jws: Option<String>,
    /// The OB 3.0 OpenBadgeCredential (JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ob3_credential: Option<serde_json::Value>,
    /// The same credential as a VC-JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ob3_jwt: Option<String>,
    pub urls: AwardUrls,
}
bus_message!(BadgeIssued, "badge.issued", "v1");

/// issuer → host, display: the Blockcerts v3 certificate of an award, sent
/// once its batch's Merkle root is anchored — seconds after `badge.issued`
/// (the batch waits to fill), or longer on a chain with confirmations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockcertsIssued {
    pub award_id: Uuid,
    pub issuer_id: Uuid,
    /// The certificate with its `merkle-proof-2019` proof, exactly as served.
    pub certificate: serde_json::Value,
    /// Where it is served (`GET /blockcerts/{id}` on host).
    pub url: String,
    /// `mocknet`, `ethereum_sepolia` or `ethereum_mainnet`.
    pub chain: String,
    /// The anchor as the proof names it (`blink:eth:sepolia:<tx>`).
    pub anchor: String,
    /// When the root was anchored (the block's time on a real chain).
    pub anchored_at: DateTime<Utc>,
    pub batch_id: Uuid,
    /// Certificates in the batch: the anonymity set of a Merkle proof.
    pub batch_size: i32,
}
bus_message!(BlockcertsIssued, "blockcerts.issued", "v1");

/// host → display: an earner asked to sign in; mail them the one-time link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EarnerSignInRequested {
    /// One per request: a redelivered message sends one mail.
    pub request_id: Uuid,
    pub email: EmailAddress,
    /// The one-time sign-in link (it carries the secret; never logged).
    pub link: String,
    /// `ja` or `en`: the language the earner asked in.
    pub lang: String,
    pub expires_at: DateTime<Utc>,
}
bus_message!(EarnerSignInRequested, "earner.signin_requested", "v1");

/// issuer → host, display, verifier: an award is revoked, with a reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BadgeRevoked {
    pub award_id: Uuid,
    pub issuer_id: Uuid,
    pub reason: String,
    pub revoked_at: DateTime<Utc>,
    pub urls: AwardUrls,
}
bus_message!(BadgeRevoked, "badge.revoked", "v1");

/// host → verifier: a revocation can now be read at host's public URLs (an
/// assertion's 410, the revocation lists, a status list). Sent after host
/// has committed it, so a cache emptied on this message cannot refill with
/// the document as it was before (as it could on `badge.revoked`, which
/// host may not have handled yet).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevocationHosted {
    pub issuer_id: Uuid,
    /// The revoked award; absent when a status list changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award_id: Option<Uuid>,
    pub hosted_at: DateTime<Utc>,
}
bus_message!(RevocationHosted, "revocation.hosted", "v1");

/// host, lms-adapter → issuer: something happened that webhook subscribers
/// may want to hear of, outside the issuer (`badge.claimed`,
/// `rule.decision.pending`). The issuer sends it on to the subscriptions
/// that want it; the envelope's id is the event's id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventObserved {
    /// A subscription event type, e.g. `badge.claimed`.
    pub event_type: String,
    /// The award it is about: the issuer adds the award's facts and URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award_id: Option<Uuid>,
    /// Required when there is no award.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge_class_id: Option<Uuid>,
    /// What it is about when not an award (a decision's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// What this type says, without personal data.
    #[serde(default)]
    pub data: serde_json::Value,
    /// The learner's address: sent on only to subscriptions that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_email: Option<EmailAddress>,
}
bus_message!(EventObserved, "event.observed", "v1");

/// issuer → display: a webhook subscription was turned off because every
/// delivery failed for the whole retry period; display mails the tenant's
/// contact address (once per message).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WebhookSubscriptionDisabled {
    pub subscription_id: Uuid,
    pub issuer_id: Uuid,
    /// The tenant's contact address (its issuer profile's `email`).
    pub to: EmailAddress,
    /// The endpoint that kept failing.
    pub url: String,
    pub reason: String,
    pub disabled_at: DateTime<Utc>,
}
bus_message!(WebhookSubscriptionDisabled, "webhook_subscription.disabled", "v1");

/// host → display: an earner chose whether their name is shown on the
/// public pages of their badges. `changed_at` orders changes: display keeps
/// the newest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EarnerPreferencesChanged {
    pub email: EmailAddress,
    pub hide_name: bool,
    pub changed_at: DateTime<Utc>,
}
bus_message!(EarnerPreferencesChanged, "earner.preferences_changed", "v1");

/// issuer → host: an issuer Profile to serve (created or changed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssuerPublished {
    pub issuer_id: Uuid,
    /// The OB 2.0 Profile document.
    pub profile: serde_json::Value,
    /// The issuer's OB 2.0 CryptographicKeys, retired ones included.
    #[serde(default)]
    pub keys: Vec<KeyPublished>,
    /// The OB 3.0 issuer Profile and key controller document (absent from
    /// messages of versions before OB 3.0 Data Integrity).
    #[serde(default)]
    pub ob3_profile: Option<serde_json::Value>,
    /// The Blockcerts issuer profile: the anchoring accounts in `publicKey`
    /// with their validity dates, and the revocation list (absent from
    /// messages of versions before Blockcerts).
    #[serde(default)]
    pub blockcerts_profile: Option<serde_json::Value>,
    /// How the issuer's pages and certificates look (absent until an admin
    /// set it, and from messages of versions before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<IssuerPresentation>,
    /// When this version was published: host keeps the newest profile and
    /// key documents, as two versions may be handled out of order (absent
    /// from older messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// How an issuer's badge pages and certificates look. Part of no credential.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssuerPresentation {
    /// The IANA time zone dates are shown in (`Asia/Tokyo`).
    pub time_zone: String,
    /// When it was set: display keeps the newest (messages may be handled
    /// out of order).
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<ImageBlob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Signatory>,
}

/// The person who signs an issuer's certificates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Signatory {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The handwritten signature, PNG or SVG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ImageBlob>,
}

/// One published key of an issuer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyPublished {
    pub key_id: Uuid,
    /// The OB 2.0 CryptographicKey document.
    pub document: serde_json::Value,
}
bus_message!(IssuerPublished, "issuer.published", "v1");

/// A badge image as uploaded by the admin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageBlob {
    pub content_type: String,
    /// Standard base64 of the image bytes.
    pub data_base64: String,
}

/// issuer → host, lms-adapter: a badge class to serve and to allow in rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BadgeClassPublished {
    pub badge_class_id: Uuid,
    pub issuer_id: Uuid,
    pub name: String,
    /// The OB 2.0 BadgeClass document.
    pub badge_class: serde_json::Value,
    pub image: ImageBlob,
    /// The language `badge_class`'s texts are written in (BCP 47; messages
    /// from before translations existed carry none and are English).
    #[serde(default = "english")]
    pub language: String,
    /// The badge class in other languages, by language: OB 2.0 BadgeClass
    /// documents whose ids are `{badge_class.id}?lang={language}`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub editions: std::collections::BTreeMap<String, serde_json::Value>,
    /// When this version was published: a consumer keeps the newest, as
    /// two versions may be handled out of order (absent from older messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

fn english() -> String {
    "en".into()
}
bus_message!(BadgeClassPublished, "badge_class.published", "v1");

/// issuer → host: a signed status list (W3C Bitstring Status List), new or
/// changed by a revocation. `updated_at` orders versions: host keeps the newest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusListPublished {
    pub issuer_id: Uuid,
    pub list_no: i32,
    pub updated_at: DateTime<Utc>,
    /// The `BitstringStatusListCredential` (JSON).
    pub credential: serde_json::Value,
    /// The same credential as a VC-JWT.
    pub jwt: String,
}
bus_message!(StatusListPublished, "status_list.published", "v1");

/// issuer → lms-adapter: an admin API token exists (only its hash travels).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdminTokenCreated {
    pub token_id: Uuid,
    pub token_hash: String,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}
bus_message!(AdminTokenCreated, "admin.token.created", "v1");

/// issuer → lms-adapter: an admin API token no longer grants anything.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdminTokenRevoked {
    pub token_id: Uuid,
}
bus_message!(AdminTokenRevoked, "admin.token.revoked", "v1");

/// issuer → display: an admin asked for the award's e-mail to be sent again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AwardMailRequested {
    pub award_id: Uuid,
}
bus_message!(AwardMailRequested, "award.mail_requested", "v1");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_versioned_and_keyed() {
        assert_eq!(IssueRequested::ROUTING_KEY, "issue.requested");
        assert_eq!(IssueRequested::EVENT_TYPE, "dev.akashi.issue.requested.v1");
        assert_eq!(BadgeRevoked::EVENT_TYPE, "dev.akashi.badge.revoked.v1");
    }

    #[test]
    fn issue_requested_refuses_a_bad_email() {
        let json = serde_json::json!({
            "idempotency_key": "k", "issuer_id": Uuid::nil(), "badge_class_id": Uuid::nil(),
            "recipient": {"email": "not-an-email"}, "origin": {"kind": "lms"}
        });
        assert!(serde_json::from_value::<IssueRequested>(json).is_err());
    }
}
