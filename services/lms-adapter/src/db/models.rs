//! Rows of the lms-adapter's tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{lms_events, lti_platforms, rules};

/// A stored LMS event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lms_events)]
pub struct EventRow {
    pub id: Uuid,
    pub source: String,
    pub external_id: String,
    pub raw_body: String,
    pub learner_email: Option<String>,
    pub learner_name: Option<String>,
    pub lms_user_id: Option<String>,
    pub course_id: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub grade: Option<f64>,
    pub received_at: DateTime<Utc>,
    pub kind: String,
    pub activity_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// `decided`, or `held` until the learner directory knows the learner.
    pub status: String,
    pub progress_done: Option<i32>,
    pub progress_total: Option<i32>,
    /// The tenant (issuer) whose source or LTI platform delivered the
    /// event; `None` for a shared source.
    pub tenant_issuer_id: Option<Uuid>,
}

/// A completion rule.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub badge_class_id: Uuid,
    pub course_id: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub activity_id: Option<String>,
    pub min_grade: Option<f64>,
    /// The rule's definition (`domain::criteria::RuleDefinition` as JSON).
    pub definition: serde_json::Value,
    pub version: i32,
    /// Made from a course, activity and minimum grade (one condition).
    pub simple: bool,
    /// Every course the definition names (to find the rules an event touches).
    pub course_ids: Vec<String>,
    /// Badge classes the definition asks the learner to hold already.
    pub prerequisite_badges: Vec<Uuid>,
    pub name: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A registered LTI 1.3 platform.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = lti_platforms)]
pub struct PlatformRow {
    pub id: Uuid,
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    pub jwks_url: String,
    pub auth_url: String,
    pub token_url: String,
    pub token_audience: Option<String>,
    pub user_source: Option<String>,
    pub name: Option<String>,
    pub tenant_issuer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
