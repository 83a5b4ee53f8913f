//! The issuer service: it owns issuer organizations (tenants), badge
//! classes and every issued credential. It consumes `issue.requested` and
//! publishes `issuer.published`, `badge_class.published`, `badge.issued`,
//! `blockcerts.issued`, `badge.revoked` and the admin token messages; it
//! sends events to subscribers' endpoints (`subscriptions`).

pub mod batcher;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod keys;
pub mod routes;
pub mod startup;
pub mod status;
pub mod subscriptions;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "issuer";
