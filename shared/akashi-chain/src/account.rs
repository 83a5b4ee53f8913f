//! An issuer's anchoring account: a secp256k1 key and its Ethereum address.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k256::ecdsa::{SigningKey, VerifyingKey};
use k256::pkcs8::{EncodePublicKey, LineEnding};
use rand::RngExt;
use zeroize::Zeroizing;

use crate::keccak256;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a secp256k1 private key")]
    Invalid,
    #[error("public key encoding: {0}")]
    Encoding(String),
}

/// A 20-byte Ethereum address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// `0x` + lowercase hex, as nodes answer it.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses `0x` + 40 hex digits, in any letter case (EIP-55 or not).
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
        let bytes = hex::decode(digits).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The address of a public key: the last 20 bytes of the Keccak-256 of
    /// its uncompressed point without the 0x04 prefix.
    pub fn of(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut address = [0; 20];
        address.copy_from_slice(&hash[12..]);
        Self(address)
    }

    /// The address of a secp256k1 public JWK (`x`, `y` base64url), if it is one.
    pub fn of_jwk(jwk: &serde_json::Value) -> Option<Self> {
        if jwk["kty"] != "EC" || jwk["crv"] != "secp256k1" {
            return None;
        }
        let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str()?).ok();
        let (x, y) = (coordinate("x")?, coordinate("y")?);
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let key = VerifyingKey::from_sec1_bytes(&sec1).ok()?;
        Some(Self::of(&key))
    }
}

/// An issuer's anchoring key, parsed once.
pub struct AnchoringKey {
    key: SigningKey,
}

impl AnchoringKey {
    /// A fresh private key: 32 random bytes that are a valid scalar.
    pub fn generate() -> Zeroizing<Vec<u8>> {
        loop {
            let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(rand::rng().random());
            if SigningKey::from_slice(bytes.as_slice()).is_ok() {
                return Zeroizing::new(bytes.to_vec());
            }
        }
    }

    /// Parses a 32-byte private key.
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        let key = SigningKey::from_slice(secret).map_err(|_| KeyError::Invalid)?;
        Ok(Self { key })
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        Address::of(self.key.verifying_key())
    }

    /// The public key as a JWK (`EC`/`secp256k1`, RFC 8812) under `kid`.
    pub fn jwk(&self, kid: &str) -> serde_json::Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        serde_json::json!({
            "kty": "EC",
            "crv": "secp256k1",
            "alg": "ES256K",
            "use": "sig",
            "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("an uncompressed point")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("an uncompressed point")),
        })
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> Result<String, KeyError> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encoding(e.to_string()))
    }

    /// Signs a 32-byte digest, returning (r ‖ s, recovery id).
    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> ([u8; 64], u8) {
        let (signature, recovery) = self
            .key
            .sign_prehash_recoverable(digest)
            .expect("a 32-byte digest can be signed");
        (signature.to_bytes().into(), recovery.to_byte())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_of_a_known_key() {
        // Ganache's first deterministic account (`--wallet.deterministic`),
        // whose address every Ethereum tutorial prints.
        let secret = hex::decode("4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d").unwrap();
        let key = AnchoringKey::from_secret(&secret).unwrap();
        assert_eq!(key.address().to_hex(), "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
        assert_eq!(Address::of_jwk(&key.jwk("k")), Some(key.address()));
        assert_eq!(
            Address::parse("0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"),
            Some(key.address())
        );
        assert_eq!(Address::parse("90f8bf6a479f320ead074411a4b0e7944ea8c9c1"), None);
    }

    #[test]
    fn generated_keys_are_distinct_and_valid() {
        let a = AnchoringKey::from_secret(&AnchoringKey::generate()).unwrap();
        let b = AnchoringKey::from_secret(&AnchoringKey::generate()).unwrap();
        assert_ne!(a.address(), b.address());
        assert!(AnchoringKey::from_secret(&[0; 32]).is_err());
    }
}
