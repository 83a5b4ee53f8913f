//! The display service: human pages for badges, in Japanese and English. It
//! consumes `badge.issued` and `badge.revoked` to know which awards exist,
//! reads their documents from host over public HTTP, and asks the verifier
//! for their live status, as any outside viewer would.

pub mod certificate;
pub mod config;
pub mod console;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod mailer;
pub mod routes;
pub mod startup;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "display";
