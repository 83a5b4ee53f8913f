//! Ed25519 issuer keys (aws-lc-rs) for Data Integrity proofs: generation as
//! PKCS#8, a signer parsed once, and the public key as a Multikey
//! (`z6Mk…`: base58btc of the multicodec `ed25519-pub` prefix and the key).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::keys::KeyError;

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed, as varint).
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// A fresh Ed25519 private key, PKCS#8 DER.
pub fn generate_ed25519() -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
    let der = pair.to_pkcs8().map_err(|_| KeyError::Generate)?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

/// An Ed25519 private key ready to sign, parsed once.
pub struct Ed25519Signer {
    pair: Ed25519KeyPair,
}

/// An Ed25519 public key as a JWK (RFC 8037), for the issuer's JWKS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OkpJwk {
    pub kty: &'static str,
    pub crv: &'static str,
    #[serde(rename = "use")]
    pub usage: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub x: String,
}

impl Ed25519Signer {
    /// Parses a PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|e| KeyError::Parse(e.to_string()))?;
        Ok(Self { pair })
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// The public key as a Multikey `publicKeyMultibase`.
    pub fn public_multibase(&self) -> String {
        multikey_from_raw(self.public_key())
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> Result<String, KeyError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|e| KeyError::Parse(e.to_string()))?;
        let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        Ok(format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        ))
    }

    /// The public key as a JWK under `kid`.
    pub fn jwk(&self, kid: &str) -> OkpJwk {
        OkpJwk {
            kty: "OKP",
            crv: "Ed25519",
            usage: "sig",
            alg: "EdDSA",
            kid: kid.to_string(),
            x: URL_SAFE_NO_PAD.encode(self.public_key()),
        }
    }

    /// The 64-byte signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// `z` + base58btc(0xed 0x01 ‖ key).
pub fn multikey_from_raw(public_key: &[u8]) -> String {
    let mut bytes = MULTICODEC_ED25519_PUB.to_vec();
    bytes.extend_from_slice(public_key);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The raw Ed25519 key of a Multikey `publicKeyMultibase`, if it is one.
pub fn raw_from_multikey(multibase: &str) -> Option<[u8; 32]> {
    let encoded = multibase.strip_prefix('z')?;
    let bytes = bs58::decode(encoded).into_vec().ok()?;
    let key = bytes.strip_prefix(&MULTICODEC_ED25519_PUB[..])?;
    key.try_into().ok()
}

/// Whether `signature` is a valid Ed25519 signature of `message` by `public_key`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_under_their_own_key_and_message() {
        let signer = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        let sig = signer.sign(b"hash data");
        assert!(verify(signer.public_key(), b"hash data", &sig));
        assert!(!verify(signer.public_key(), b"hash datA", &sig));
        let other = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        assert!(!verify(other.public_key(), b"hash data", &sig));
    }

    #[test]
    fn multikeys_start_with_z6mk_and_round_trip() {
        let signer = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        let multikey = signer.public_multibase();
        assert!(multikey.starts_with("z6Mk"), "{multikey}");
        assert_eq!(raw_from_multikey(&multikey).unwrap(), signer.public_key());
        assert!(raw_from_multikey("z6LS").is_none());
        assert!(raw_from_multikey("u6Mk").is_none());
        assert!(signer.public_pem().unwrap().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(signer.jwk("k").x.len(), 43);
    }

    #[test]
    fn the_1edtech_example_key_decodes() {
        // The key of 1EdTech's signed OB 3.0 example (research notes §7).
        let raw = raw_from_multikey("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi").unwrap();
        assert_eq!(
            multikey_from_raw(&raw),
            "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
        );
    }
}
