//! The lms-adapter service: it owns LMS webhook sources, received LMS events,
//! completion rules and award decisions. It publishes `issue.requested`, and
//! consumes `badge_class.published` (to know which badges rules may name)
//! and the admin token messages.

pub mod config;
pub mod consumers;
pub mod db;
pub mod decisions;
pub mod domain;
pub mod jwks;
pub mod routes;
pub mod sources;
pub mod startup;
pub mod webhook_auth;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "lms-adapter";
