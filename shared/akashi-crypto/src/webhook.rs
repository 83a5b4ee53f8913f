//! Webhook signatures in the contract's form:
//! `X-Akashi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
//! several `v1=` allowed so that a source can rotate its secret.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Signatures older (or further in the future) than this are refused.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature header was refused. Each maps to 401 for the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("signature timestamp is outside the {0} s tolerance")]
    Stale(i64),
    #[error("no signature matches any current secret of this source")]
    Mismatch,
}

fn mac_for(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1` signature (hex) of `body` at `timestamp` under `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac_for(secret, timestamp, body).finalize().into_bytes())
}

/// A full header value, as a sender would build it.
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// A parsed `X-Akashi-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub signatures: Vec<Vec<u8>>,
}

impl SignatureHeader {
    /// Parses `t=…,v1=…[,v1=…]`; unknown schemes (e.g. a future `v2=`) are ignored.
    pub fn parse(raw: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in raw.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed("expected key=value pairs"))?;
            match key {
                "t" => {
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed("more than one t="));
                    }
                    timestamp = Some(
                        value
                            .parse::<i64>()
                            .map_err(|_| SignatureError::Malformed("t= is not an integer"))?,
                    );
                }
                "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed("v1= is not hex"))?),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed("t= is missing"))?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed("no v1= signature"));
        }
        Ok(Self { timestamp, signatures })
    }
}

/// Checks a header against a body and the source's current secrets.
///
/// Staleness is checked before the MAC so that a replayed old request is
/// refused even if it was once valid.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[impl AsRef<[u8]>],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
    if (now_unix - header.timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale(tolerance_secs));
    }
    for secret in secrets {
        for candidate in &header.signatures {
            // verify_slice compares in constant time.
            if mac_for(secret.as_ref(), header.timestamp, body)
                .verify_slice(candidate)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn accepts_a_fresh_correct_signature() {
        let h = signature_header(b"demo-secret", NOW, b"{}");
        assert_eq!(verify(Some(&h), b"{}", &["demo-secret"], NOW + 10, 300), Ok(()));
    }

    #[test]
    fn matches_an_independent_hmac() {
        // `printf '1800000000.{}' | openssl dgst -sha256 -hmac demo-secret`
        assert_eq!(
            sign(b"demo-secret", NOW, b"{}"),
            "c8390f55d562728708d5f8f3e450888c104b10e031b15286b5394f60ee9ce1ea"
        );
    }

    #[test]
    fn refuses_missing_malformed_stale_and_wrong() {
        let body = b"{\"a\":1}";
        assert_eq!(verify(None, body, &["s"], NOW, 300), Err(SignatureError::Missing));
        assert!(matches!(
            verify(Some("garbage"), body, &["s"], NOW, 300),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify(Some("t=1"), body, &["s"], NOW, 300),
            Err(SignatureError::Malformed(_))
        ));
        let old = signature_header(b"s", NOW - 301, body);
        assert_eq!(
            verify(Some(&old), body, &["s"], NOW, 300),
            Err(SignatureError::Stale(300))
        );
        let future = signature_header(b"s", NOW + 301, body);
        assert_eq!(
            verify(Some(&future), body, &["s"], NOW, 300),
            Err(SignatureError::Stale(300))
        );
        let wrong_secret = signature_header(b"other", NOW, body);
        assert_eq!(
            verify(Some(&wrong_secret), body, &["s"], NOW, 300),
            Err(SignatureError::Mismatch)
        );
        let h = signature_header(b"s", NOW, body);
        assert_eq!(
            verify(Some(&h), b"{\"a\":2}", &["s"], NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn several_v1_and_several_secrets_support_rotation() {
        let body = b"x";
        let header = format!("t={NOW},v1={},v1={}", sign(b"old", NOW, body), sign(b"new", NOW, body));
        assert_eq!(verify(Some(&header), body, &["new"], NOW, 300), Ok(()));
        let only_old = signature_header(b"old", NOW, body);
        assert_eq!(verify(Some(&only_old), body, &["new", "old"], NOW, 300), Ok(()));
    }
}
