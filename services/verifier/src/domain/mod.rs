//! What the verifier needs to fetch safely and to report.

pub mod baked;
pub mod cache;
pub mod fetch;
pub mod report;
