//! The lms-adapter service: it owns LMS webhook sources, LTI 1.3 platform
//! registrations, received LMS events, the learner directory, completion
//! rules and award decisions. It publishes `issue.requested`, and consumes
//! `badge_class.published` (to know which badges rules may name),
//! `badge.issued`/`badge.revoked` (to show learners their badges in LTI
//! launches) and the admin token messages.

pub mod config;
pub mod consumers;
pub mod db;
pub mod decisions;
pub mod domain;
pub mod jwks;
pub mod lti;
pub mod routes;
pub mod sources;
pub mod startup;
pub mod sync;
pub mod webhook_auth;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "lms-adapter";
