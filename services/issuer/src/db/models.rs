//! Rows of the issuer's tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{
    award_credentials, awards, badge_classes, blockcerts_batches, issuer_presentations, issuers, signing_keys,
};

/// An issuer organization (tenant).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issuers)]
pub struct IssuerRow {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub email: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an issuer's pages and certificates look (one row per issuer, once set).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = issuer_presentations, treat_none_as_null = true)]
pub struct IssuerPresentationRow {
    pub issuer_id: Uuid,
    pub time_zone: String,
    pub logo: Option<Vec<u8>>,
    pub logo_content_type: Option<String>,
    pub signatory_name: Option<String>,
    pub signatory_title: Option<String>,
    pub signature: Option<Vec<u8>>,
    pub signature_content_type: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A badge class, image included.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = badge_classes)]
pub struct BadgeClassRow {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub name: String,
    pub description: String,
    pub criteria_narrative: String,
    pub criteria_url: Option<String>,
    pub tags: Vec<String>,
    pub image: Vec<u8>,
    pub image_content_type: String,
    pub created_at: DateTime<Utc>,
    pub formats: Vec<String>,
    pub expires_after_days: Option<i32>,
    pub expires_on: Option<DateTime<Utc>>,
    /// OB 2.0 AlignmentObjects (camelCase keys), as given.
    pub alignments: serde_json::Value,
    /// The language of name, description and criteria (`en`, `ja`).
    pub language: String,
    /// The same texts in other languages (see `domain::languages`).
    pub translations: serde_json::Value,
}

impl BadgeClassRow {
    /// When an award issued at `issued_on` expires, if ever.
    pub fn expiry_for(&self, issued_on: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expires_on.or_else(|| {
            self.expires_after_days
                .map(|d| issued_on + chrono::Duration::days(i64::from(d)))
        })
    }
}

/// One issued credential.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = awards)]
pub struct AwardRow {
    pub id: Uuid,
    pub idempotency_key: String,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub recipient_email: String,
    pub recipient_name: Option<String>,
    pub salt: String,
    pub identity_hash: String,
    pub issued_on: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub origin: serde_json::Value,
    pub ob2_assertion: serde_json::Value,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One signed form of an award.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = award_credentials)]
pub struct AwardCredentialRow {
    pub award_id: Uuid,
    pub format: String,
    pub signing_key_id: Uuid,
    pub document: Option<serde_json::Value>,
    pub compact: String,
    pub created_at: DateTime<Utc>,
    pub status_list_no: Option<i32>,
    pub status_index: Option<i32>,
}

/// A signing key; the private half sealed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub algorithm: String,
    pub public_key_pem: String,
    pub public_jwk: serde_json::Value,
    pub sealed_private_key: Vec<u8>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A Blockcerts batch (see the migration for its states).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = blockcerts_batches)]
pub struct BlockcertsBatchRow {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub chain: String,
    pub state: String,
    pub size: i32,
    pub merkle_root: Vec<u8>,
    pub anchoring_key_id: Uuid,
    pub raw_tx: Option<Vec<u8>>,
    pub nonce: Option<i64>,
    pub tx_hash: Option<Vec<u8>>,
    pub anchor: Option<String>,
    pub anchored_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
