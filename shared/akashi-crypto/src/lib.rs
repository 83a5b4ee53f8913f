//! Cryptography Akashi needs, built only on well-kept crates (sha2, hmac,
//! subtle, rand): Open Badges identity hashing, webhook signatures and admin
//! API tokens. Nothing here is hand-rolled crypto; this crate only composes.

pub mod ed25519;
pub mod identity;
pub mod keys;
pub mod standard_webhooks;
pub mod token;
pub mod webhook;
