//! Admin API bearer tokens: random, shown once, stored only as a SHA-256 hash.
//!
//! A token carries 256 bits of randomness, so a fast hash is enough to make a
//! stolen database useless (no password stretching is needed for such input).

use base64::Engine;
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix that lets secret scanners recognise a leaked Akashi token.
pub const TOKEN_PREFIX: &str = "akt_";

/// A new random token, to be shown to its owner once.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The hash under which a token is stored and looked up (hex SHA-256).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hash_stably() {
        let t1 = generate_token();
        let t2 = generate_token();
        assert!(t1.starts_with(TOKEN_PREFIX));
        assert_ne!(t1, t2);
        assert_eq!(hash_token(&t1), hash_token(&t1));
        assert_ne!(hash_token(&t1), hash_token(&t2));
        assert_eq!(hash_token(&t1).len(), 64);
    }

    #[test]
    fn constant_time_eq_compares_content() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
