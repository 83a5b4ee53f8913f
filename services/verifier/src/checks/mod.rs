//! Verification procedures, one per credential format.

/// Clock skew tolerated on every start date (`issuedOn`, `validFrom`, `nbf`).
pub const SKEW_SECS: i64 = 300;

pub mod blockcerts;
pub mod ob2_hosted;
pub mod ob2_signed;
pub mod ob3_di;
pub mod ob3_vcjwt;
