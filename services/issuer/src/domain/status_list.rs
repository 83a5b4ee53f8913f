//! W3C Bitstring Status List v1.0 (revocation purpose) for OB 3.0
//! credentials: where a credential's bit lives, how a list is encoded, and
//! the status list credential that carries it.

use std::io::Write;

use base64::Engine;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::domain::documents::ob_datetime;

/// Bits in one list: 16 KiB, the spec's minimum, so that a list does not
/// betray how many credentials its issuer has.
pub const LIST_BITS: i64 = 131_072;
/// Bytes in one list.
pub const LIST_BYTES: usize = (LIST_BITS / 8) as usize;

/// Where the bit of sequence position `n` lives: (list number, index in it).
pub fn position(n: i64) -> (i32, i32) {
    ((n / LIST_BITS) as i32, (n % LIST_BITS) as i32)
}

/// Sets bit `index` (bit 0 is the most significant bit of byte 0).
pub fn set_bit(bits: &mut [u8], index: i32) {
    let index = index as usize;
    bits[index / 8] |= 0x80 >> (index % 8);
}

/// `encodedList`: multibase base64url (`u` prefix) of the GZIP-compressed bitstring.
pub fn encode(bits: &[u8]) -> String {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(bits).expect("writing to memory does not fail");
    let compressed = gzip.finish().expect("writing to memory does not fail");
    format!(
        "u{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed)
    )
}

/// The `BitstringStatusListCredential` of one list, unsigned.
pub fn credential(list_url: &str, issuer_id: &str, bits: &[u8], now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": ob_datetime(now),
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode(bits),
        },
    })
}

/// The `credentialStatus` entry a credential carries.
pub fn entry(list_url: &str, index: i32) -> serde_json::Value {
    serde_json::json!({
        "id": format!("{list_url}#{index}"),
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": index.to_string(),
        "statusListCredential": list_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn decode(encoded: &str) -> Vec<u8> {
        let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&encoded[1..])
            .unwrap();
        let mut bits = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut bits)
            .unwrap();
        bits
    }

    #[test]
    fn positions_fill_one_list_then_the_next() {
        assert_eq!(position(0), (0, 0));
        assert_eq!(position(131_071), (0, 131_071));
        assert_eq!(position(131_072), (1, 0));
    }

    #[test]
    fn bit_zero_is_the_most_significant_bit_of_byte_zero() {
        let mut bits = vec![0u8; LIST_BYTES];
        set_bit(&mut bits, 0);
        set_bit(&mut bits, 9);
        assert_eq!(bits[0], 0b1000_0000);
        assert_eq!(bits[1], 0b0100_0000);
    }

    #[test]
    fn the_encoding_is_multibase_base64url_of_gzip() {
        let mut bits = vec![0u8; LIST_BYTES];
        set_bit(&mut bits, 94_567);
        let encoded = encode(&bits);
        assert!(encoded.starts_with('u'));
        assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
        let back = decode(&encoded);
        assert_eq!(back.len(), LIST_BYTES);
        assert_eq!(back, bits);
        assert!(encoded.len() < 200, "an almost empty list compresses well");
    }
}
