//! The verifier service: `POST /verify` checks a badge the way an outside
//! party (an employer's HR system) must: it fetches every document over
//! public HTTP, trusts nothing it was handed, and answers a report of every
//! check. It owns no credential data.

pub mod audit;
pub mod checks;
pub mod clients;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod routes;
pub mod startup;

/// The service's name on the bus, in logs and in its database name.
pub const SERVICE: &str = "verifier";
