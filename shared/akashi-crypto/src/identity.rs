//! Open Badges recipient identity hashing:
//! `"sha256$" + hex(sha256(identity + salt))` (OB 2.0 §IdentityObject, and the
//! `identityHash` of OB 3.0). The identity must already be normalised.

use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random salt: 16 bytes, hex-encoded.
pub fn new_salt() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// Hashes an identity with its salt the way Open Badges verifiers expect.
pub fn hash_identity(identity: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(identity.as_bytes());
    hasher.update(salt.as_bytes());
    format!("sha256${}", hex::encode(hasher.finalize()))
}

/// Whether `identity` (normalised) is the one behind `expected_hash`
/// (`sha256$<hex>`, hex in either case).
pub fn identity_matches(identity: &str, salt: &str, expected_hash: &str) -> bool {
    let ours = hash_identity(identity, salt);
    let theirs = expected_hash.to_ascii_lowercase();
    ours.as_bytes().ct_eq(theirs.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_a_known_vector() {
        // sha256("hanako@example.ac.jp" + "abc") computed independently with `sha256sum`.
        assert_eq!(
            hash_identity("hanako@example.ac.jp", "abc"),
            "sha256$b87d03f83fc8b73ea3c7f2b95da607dec7618cc26fca1132bad55c9d302f6f38"
        );
    }

    #[test]
    fn salt_changes_the_hash_and_matching_ignores_hex_case() {
        let a = hash_identity("x@y.org", "s1");
        let b = hash_identity("x@y.org", "s2");
        assert_ne!(a, b);
        assert!(identity_matches(
            "x@y.org",
            "s1",
            &a.to_uppercase().replace("SHA256$", "sha256$")
        ));
        assert!(!identity_matches("z@y.org", "s1", &a));
    }

    #[test]
    fn salts_are_random() {
        assert_ne!(new_salt(), new_salt());
        assert_eq!(new_salt().len(), 32);
    }
}
