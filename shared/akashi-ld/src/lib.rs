//! Linked-data processing Akashi signs and verifies with, all offline:
//! JSON-LD expansion against contexts bundled in this crate (never the
//! network), in *safe mode* — a term or type that does not expand to an
//! absolute IRI is an error, never a silently dropped triple — then RDF
//! Dataset Canonicalization (RDFC-1.0, the URDNA2015 algorithm) to N-Quads.
//!
//! On top: the `eddsa-rdfc-2022` Data Integrity cryptosuite (W3C VC DI
//! EdDSA), which Open Badges 3.0 conformance requires.

pub mod blockcerts;
pub mod canon;
pub mod contexts;
pub mod data_integrity;
pub mod template;

pub use canon::{CanonError, canonicalize};
