//! Signatures of the events Akashi sends out, as the Standard Webhooks
//! specification defines them: secrets `whsec_<base64 of the key>`, and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
//! several space-separated while a secret is being rotated.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

/// The prefix of a secret as shown to its owner.
pub const SECRET_PREFIX: &str = "whsec_";

/// Why a secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a secret is `whsec_` followed by base64")]
    NotASecret,
    #[error("a secret's key is 24 to 64 bytes")]
    BadLength,
}

/// A new random key (24 bytes, within the 24–64 the specification asks for).
pub fn generate_key() -> Vec<u8> {
    let bytes: [u8; 24] = rand::rng().random();
    bytes.to_vec()
}

/// The key as its owner sees it: `whsec_…`.
pub fn format_secret(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key inside a `whsec_…` secret.
pub fn parse_secret(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(SecretError::NotASecret)?;
    let key = STANDARD.decode(encoded).map_err(|_| SecretError::NotASecret)?;
    if !(24..=64).contains(&key.len()) {
        return Err(SecretError::BadLength);
    }
    Ok(key)
}

/// One signature, `v1,<base64>`, of a message with this id, timestamp and body.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per key, space-separated
/// (the current key first, then one being retired).
pub fn signature_header(keys: &[&[u8]], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| sign(key, message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed with the Standard Webhooks reference library (PyPI
    /// `standardwebhooks` 1.3.0: `Webhook(secret).sign(id, datetime, body)`).
    #[test]
    fn the_reference_librarys_signature() {
        let key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            REFERENCE_SIGNATURE
        );
    }
    const REFERENCE_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn secrets_round_trip_and_bad_ones_are_named() {
        let key = generate_key();
        assert_eq!(parse_secret(&format_secret(&key)).unwrap(), key);
        assert_ne!(generate_key(), key);
        assert_eq!(parse_secret("sk_abc"), Err(SecretError::NotASecret));
        assert_eq!(parse_secret("whsec_!!"), Err(SecretError::NotASecret));
        assert_eq!(parse_secret("whsec_YWJj"), Err(SecretError::BadLength));
    }

    #[test]
    fn a_rotation_header_carries_both_signatures() {
        let (old, new) = (generate_key(), generate_key());
        let header = signature_header(&[&new, &old], "msg_1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [sign(&new, "msg_1", 1, b"{}"), sign(&old, "msg_1", 1, b"{}")]);
        assert_ne!(parts[0], parts[1]);
    }
}
