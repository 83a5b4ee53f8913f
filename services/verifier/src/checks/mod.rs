//! Verification procedures, one per credential format.

pub mod ob2_hosted;
