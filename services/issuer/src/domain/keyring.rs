//! The issuer's signing keys: generated per issuer, sealed under the master
//! key in the database, unsealed and parsed once per process, then reused
//! for every signature.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use akashi_crypto::keys::{KeyError, MasterKey, RsaSigner, generate_rsa_2048};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::models::SigningKeyRow;
use crate::domain::documents::PublicLinks;

/// Signing keys in use by this process.
pub struct Keyring {
    master: MasterKey,
    signers: RwLock<HashMap<Uuid, Arc<RsaSigner>>>,
}

impl Keyring {
    /// A keyring sealing and opening keys with `master`.
    pub fn new(master: MasterKey) -> Self {
        Self {
            master,
            signers: RwLock::new(HashMap::new()),
        }
    }

    /// A new RSA-2048 key for `issuer_id`, valid from `valid_from`, ready to insert.
    pub async fn generate(
        &self,
        issuer_id: Uuid,
        valid_from: DateTime<Utc>,
        links: &PublicLinks,
    ) -> Result<SigningKeyRow, KeyError> {
        // Key generation is CPU work of tens of milliseconds: off the async threads.
        let der = tokio::task::spawn_blocking(generate_rsa_2048)
            .await
            .map_err(|_| KeyError::Generate)??;
        let signer = RsaSigner::from_pkcs8_der(&der)?;
        let id = Uuid::now_v7();
        let jwk = signer.public().jwk(&links.key_jwk(issuer_id, id));
        let row = SigningKeyRow {
            id,
            issuer_id,
            algorithm: "RS256".into(),
            public_key_pem: signer.public().pem.clone(),
            public_jwk: serde_json::to_value(jwk).expect("a JWK serialises"),
            sealed_private_key: self.master.seal(id.as_bytes(), &der),
            valid_from,
            valid_until: None,
            created_at: valid_from,
        };
        self.signers.write().expect("keyring lock").insert(id, Arc::new(signer));
        Ok(row)
    }

    /// The signer of a stored key (unsealed and parsed on first use only).
    pub fn signer(&self, row: &SigningKeyRow) -> Result<Arc<RsaSigner>, KeyError> {
        if let Some(signer) = self.signers.read().expect("keyring lock").get(&row.id) {
            return Ok(signer.clone());
        }
        let der = self.master.open(row.id.as_bytes(), &row.sealed_private_key)?;
        let signer = Arc::new(RsaSigner::from_pkcs8_der(&der)?);
        self.signers
            .write()
            .expect("keyring lock")
            .insert(row.id, signer.clone());
        Ok(signer)
    }
}
