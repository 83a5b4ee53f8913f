//! Rows of the issuer's tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{awards, badge_classes, issuers};

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
