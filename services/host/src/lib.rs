//! The host service: it serves every public Open Badges document at a stable
//! URL (the contract's `/ob2/...` paths), from its own copy. It consumes
//! `issuer.published`, `badge_class.published`, `badge.issued` and
//! `badge.revoked`.

pub mod config;
pub mod consumers;
pub mod db;
pub mod earner;
pub mod routes;
pub mod startup;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "host";
