//! The issuer's signing keys: generated per issuer, sealed under the master
//! key in the database, unsealed and parsed once per process, then reused
//! for every signature. Each issuer holds one active key per algorithm:
//! RSA (RS256: OB 2.0 signed and OB 3.0 VC-JWT), Ed25519 (OB 3.0 Data
//! Integrity, eddsa-rdfc-2022) and secp256k1 (ES256K: the Ethereum account
//! that anchors the issuer's Blockcerts batches).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use akashi_chain::AnchoringKey;
use akashi_crypto::ed25519::{Ed25519Signer, generate_ed25519};
use akashi_crypto::keys::{KeyError, MasterKey, RsaBits, RsaSigner, generate_rsa};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::models::SigningKeyRow;
use crate::domain::documents::PublicLinks;

/// The signature algorithms an issuer has keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA-2048, PKCS#1 v1.5 with SHA-256.
    Rs256,
    /// Ed25519.
    EdDsa,
    /// secp256k1: the Blockcerts anchoring account.
    Es256k,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order keys are made.
    pub const ALL: [KeyAlgorithm; 3] = [KeyAlgorithm::Rs256, KeyAlgorithm::EdDsa, KeyAlgorithm::Es256k];

    /// The algorithms key rotation replaces. The anchoring account is not
    /// among them: it holds the ether that pays for anchors, and an address
    /// change must be funded first, so it is rotated on its own.
    pub const ROTATED: [KeyAlgorithm; 2] = [KeyAlgorithm::Rs256, KeyAlgorithm::EdDsa];

    /// The JOSE name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rs256 => "RS256",
            KeyAlgorithm::EdDsa => "EdDSA",
            KeyAlgorithm::Es256k => "ES256K",
        }
    }
}

/// Signing keys in use by this process.
pub struct Keyring {
    master: MasterKey,
    rsa: RwLock<HashMap<Uuid, Arc<RsaSigner>>>,
    ed25519: RwLock<HashMap<Uuid, Arc<Ed25519Signer>>>,
    anchoring: RwLock<HashMap<Uuid, Arc<AnchoringKey>>>,
}

impl Keyring {
    /// A keyring sealing and opening keys with `master`.
    pub fn new(master: MasterKey) -> Self {
        Self {
            master,
            rsa: RwLock::new(HashMap::new()),
            ed25519: RwLock::new(HashMap::new()),
            anchoring: RwLock::new(HashMap::new()),
        }
    }

    /// Seals another secret the issuer must keep (a webhook subscription's
    /// signing key) under the master key, bound to `context`.
    pub fn seal(&self, context: &[u8], secret: &[u8]) -> Vec<u8> {
        self.master.seal(context, secret)
    }

    /// Opens what [`Keyring::seal`] sealed with the same `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        self.master.open(context, sealed)
    }

    /// A new key of `algorithm` for `issuer_id`, valid from `valid_from`, ready to insert.
    pub async fn generate(
        &self,
        issuer_id: Uuid,
        algorithm: KeyAlgorithm,
        valid_from: DateTime<Utc>,
        links: &PublicLinks,
    ) -> Result<SigningKeyRow, KeyError> {
        self.generate_sized(issuer_id, algorithm, RsaBits::default(), valid_from, links)
            .await
    }

    /// [`Keyring::generate`] with the RSA modulus size chosen (ignored for Ed25519).
    pub async fn generate_sized(
        &self,
        issuer_id: Uuid,
        algorithm: KeyAlgorithm,
        rsa_bits: RsaBits,
        valid_from: DateTime<Utc>,
        links: &PublicLinks,
    ) -> Result<SigningKeyRow, KeyError> {
        let id = Uuid::now_v7();
        let kid = links.key_jwk(issuer_id, id);
        let (der, public_key_pem, public_jwk) = match algorithm {
            KeyAlgorithm::Rs256 => {
                // RSA generation is CPU work of tens of milliseconds: off the async threads.
                let der = tokio::task::spawn_blocking(move || generate_rsa(rsa_bits))
                    .await
                    .map_err(|_| KeyError::Generate)??;
                let signer = RsaSigner::from_pkcs8_der(&der)?;
                let jwk = serde_json::to_value(signer.public().jwk(&kid)).expect("a JWK serialises");
                let pem = signer.public().pem.clone();
                self.rsa.write().expect("keyring lock").insert(id, Arc::new(signer));
                (der, pem, jwk)
            }
            KeyAlgorithm::EdDsa => {
                let der = generate_ed25519()?;
                let signer = Ed25519Signer::from_pkcs8_der(&der)?;
                let jwk = serde_json::to_value(signer.jwk(&kid)).expect("a JWK serialises");
                let pem = signer.public_pem()?;
                self.ed25519.write().expect("keyring lock").insert(id, Arc::new(signer));
                (der, pem, jwk)
            }
            KeyAlgorithm::Es256k => {
                // The raw 32-byte secret, sealed like the PKCS#8 of the others.
                let secret = AnchoringKey::generate();
                let key = AnchoringKey::from_secret(&secret).map_err(|e| KeyError::Parse(e.to_string()))?;
                let jwk = key.jwk(&kid);
                let pem = key.public_pem().map_err(|e| KeyError::Parse(e.to_string()))?;
                self.anchoring.write().expect("keyring lock").insert(id, Arc::new(key));
                (secret, pem, jwk)
            }
        };
        Ok(SigningKeyRow {
            id,
            issuer_id,
            algorithm: algorithm.as_str().into(),
            public_key_pem,
            public_jwk,
            sealed_private_key: self.master.seal(id.as_bytes(), &der),
            valid_from,
            valid_until: None,
            created_at: valid_from,
        })
    }

    /// The RSA signer of a stored key (unsealed and parsed on first use only).
    pub fn signer(&self, row: &SigningKeyRow) -> Result<Arc<RsaSigner>, KeyError> {
        self.cached(&self.rsa, row, RsaSigner::from_pkcs8_der)
    }

    /// The Ed25519 signer of a stored key (unsealed and parsed on first use only).
    pub fn ed25519_signer(&self, row: &SigningKeyRow) -> Result<Arc<Ed25519Signer>, KeyError> {
        self.cached(&self.ed25519, row, Ed25519Signer::from_pkcs8_der)
    }

    /// The anchoring account of a stored ES256K key (unsealed on first use only).
    pub fn anchoring_key(&self, row: &SigningKeyRow) -> Result<Arc<AnchoringKey>, KeyError> {
        self.cached(&self.anchoring, row, |secret| {
            AnchoringKey::from_secret(secret).map_err(|e| KeyError::Parse(e.to_string()))
        })
    }

    /// The signer of `row` from `cache`, or unsealed and parsed into it.
    fn cached<S>(
        &self,
        cache: &RwLock<HashMap<Uuid, Arc<S>>>,
        row: &SigningKeyRow,
        parse: impl FnOnce(&[u8]) -> Result<S, KeyError>,
    ) -> Result<Arc<S>, KeyError> {
        if let Some(signer) = cache.read().expect("keyring lock").get(&row.id) {
            return Ok(signer.clone());
        }
        let der = self.master.open(row.id.as_bytes(), &row.sealed_private_key)?;
        let signer = Arc::new(parse(&der)?);
        cache.write().expect("keyring lock").insert(row.id, signer.clone());
        Ok(signer)
    }
}
