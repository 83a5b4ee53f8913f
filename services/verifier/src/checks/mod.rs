//! Verification procedures, one per credential format.

pub mod blockcerts;
pub mod ob2_hosted;
pub mod ob2_signed;
pub mod ob3_di;
pub mod ob3_vcjwt;
