//! The `eddsa-rdfc-2022` Data Integrity cryptosuite (W3C "Data Integrity
//! EdDSA Cryptosuites v1.0", §3.3): RDFC-1.0 canonical N-Quads of the
//! document and of the proof configuration, each hashed with SHA-256, the
//! two hashes concatenated (configuration first) and signed with Ed25519;
//! `proofValue` is the signature in multibase base58btc (`z…`).

use akashi_crypto::ed25519::{self, Ed25519Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::canon::{CanonError, canonicalize};

/// The proof type every Data Integrity proof has.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite Open Badges 3.0 conformance accepts.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// Why a proof could not be made or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("{0}")]
    Canonicalization(#[from] CanonError),
    #[error("the document has no proof")]
    Missing,
    #[error("the document is not a JSON object")]
    NotAnObject,
    #[error("unsupported proof: {0}")]
    Unsupported(String),
    #[error("the proof value is not a base58btc multibase Ed25519 signature")]
    MalformedValue,
    #[error("the signature does not verify")]
    BadSignature,
}

/// What a new proof says besides its value.
pub struct ProofOptions<'a> {
    /// The absolute URL of the Multikey verification method.
    pub verification_method: &'a str,
    /// XSD dateTime with a time zone.
    pub created: &'a str,
}

/// The bytes that are signed: SHA-256(canonical proof configuration) ‖
/// SHA-256(canonical document without its proof).
async fn hash_data(unsecured: &Value, proof_config: &Value) -> Result<Vec<u8>, ProofError> {
    let mut config = proof_config.clone();
    // The configuration is processed with the document's contexts (§3.3.5).
    config["@context"] = unsecured["@context"].clone();
    let canonical_config = canonicalize(&config).await?;
    let canonical_document = canonicalize(unsecured).await?;
    let mut out = Sha256::digest(canonical_config.as_bytes()).to_vec();
    out.extend_from_slice(&Sha256::digest(canonical_document.as_bytes()));
    Ok(out)
}

/// `document` with a new `eddsa-rdfc-2022` proof under `signer`.
pub async fn sign(document: &Value, options: &ProofOptions<'_>, signer: &Ed25519Signer) -> Result<Value, ProofError> {
    let mut unsecured = document.clone();
    unsecured
        .as_object_mut()
        .ok_or(ProofError::NotAnObject)?
        .remove("proof");
    let mut proof = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": options.created,
        "verificationMethod": options.verification_method,
        "proofPurpose": "assertionMethod",
    });
    let data = hash_data(&unsecured, &proof).await?;
    let signature = signer.sign(&data);
    proof["proofValue"] = json!(format!("z{}", bs58::encode(signature).into_string()));
    let mut secured = unsecured;
    secured["proof"] = proof;
    Ok(secured)
}

/// The document's one `eddsa-rdfc-2022` proof, checked for shape.
pub fn proof_of(secured: &Value) -> Result<&Value, ProofError> {
    let proof = match &secured["proof"] {
        Value::Null => return Err(ProofError::Missing),
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Array(_) => return Err(ProofError::Unsupported("more than one proof".into())),
        single => single,
    };
    if proof["type"] != PROOF_TYPE {
        return Err(ProofError::Unsupported(format!("proof type {}", proof["type"])));
    }
    if proof["cryptosuite"] != CRYPTOSUITE {
        return Err(ProofError::Unsupported(format!("cryptosuite {}", proof["cryptosuite"])));
    }
    if proof["proofPurpose"] != "assertionMethod" {
        return Err(ProofError::Unsupported(format!(
            "proof purpose {}",
            proof["proofPurpose"]
        )));
    }
    if proof["verificationMethod"].as_str().is_none() {
        return Err(ProofError::Unsupported("no verificationMethod".into()));
    }
    Ok(proof)
}

/// Verifies the document's proof under the raw Ed25519 `public_key` (the
/// caller resolves `proof.verificationMethod` and checks who controls it).
pub async fn verify(secured: &Value, public_key: &[u8]) -> Result<(), ProofError> {
    let proof = proof_of(secured)?;
    if let Some(context) = proof.get("@context") {
        // A proof with its own contexts must name the document's, in order (§2.2).
        let starts = match (&secured["@context"], context) {
            (Value::Array(doc), Value::Array(own)) => doc.starts_with(own),
            (doc, own) => doc == own,
        };
        if !starts {
            return Err(ProofError::Unsupported(
                "proof @context differs from the document's".into(),
            ));
        }
    }
    let signature = proof["proofValue"]
        .as_str()
        .and_then(|v| v.strip_prefix('z'))
        .and_then(|v| bs58::decode(v).into_vec().ok())
        .filter(|s| s.len() == 64)
        .ok_or(ProofError::MalformedValue)?;
    let mut config = proof.clone();
    let config_map = config.as_object_mut().ok_or(ProofError::NotAnObject)?;
    config_map.remove("proofValue");
    config_map.remove("@context");
    let mut unsecured = secured.clone();
    unsecured
        .as_object_mut()
        .ok_or(ProofError::NotAnObject)?
        .remove("proof");
    let data = hash_data(&unsecured, &config).await?;
    if ed25519::verify(public_key, &data, &signature) {
        Ok(())
    } else {
        Err(ProofError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contexts;
    use akashi_crypto::ed25519::generate_ed25519;

    fn credential() -> Value {
        json!({
            "@context": [contexts::CREDENTIALS_V2, contexts::OB_V3P0_3_0_3],
            "id": "http://127.0.0.1:8082/ob3/credentials/1",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "http://127.0.0.1:8082/ob3/issuers/1", "type": ["Profile"], "name": "Akashi"},
            "validFrom": "2026-11-27T00:00:00Z",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "http://127.0.0.1:8082/ob2/badges/1", "type": ["Achievement"],
                    "name": "Rust", "description": "tab\there", "criteria": {"narrative": "n"}
                }
            }
        })
    }

    fn options() -> ProofOptions<'static> {
        ProofOptions {
            verification_method: "http://127.0.0.1:8082/ob3/issuers/1#key-1",
            created: "2026-11-27T00:00:00Z",
        }
    }

    #[tokio::test]
    async fn a_signed_credential_verifies_and_any_change_breaks_it() {
        let signer = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        let signed = sign(&credential(), &options(), &signer).await.unwrap();
        assert!(signed["proof"]["proofValue"].as_str().unwrap().starts_with('z'));
        verify(&signed, signer.public_key()).await.unwrap();

        let mut tampered = signed.clone();
        tampered["credentialSubject"]["achievement"]["name"] = json!("Haskell");
        assert!(matches!(
            verify(&tampered, signer.public_key()).await,
            Err(ProofError::BadSignature)
        ));

        let mut moved = signed.clone();
        moved["proof"]["created"] = json!("2020-01-01T00:00:00Z");
        assert!(matches!(
            verify(&moved, signer.public_key()).await,
            Err(ProofError::BadSignature)
        ));

        let other = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        assert!(verify(&signed, other.public_key()).await.is_err());
    }

    #[tokio::test]
    async fn an_unsigned_addition_is_refused_not_ignored() {
        let signer = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        let mut signed = sign(&credential(), &options(), &signer).await.unwrap();
        // Not in any context: a non-safe verifier would drop it and pass.
        signed["credentialSubject"]["achievement"]["grade"] = json!("A+");
        assert!(matches!(
            verify(&signed, signer.public_key()).await,
            Err(ProofError::Canonicalization(_))
        ));
    }

    #[tokio::test]
    async fn other_suites_and_malformed_values_are_named() {
        let signer = Ed25519Signer::from_pkcs8_der(&generate_ed25519().unwrap()).unwrap();
        let signed = sign(&credential(), &options(), &signer).await.unwrap();
        let mut other = signed.clone();
        other["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
        assert!(matches!(
            verify(&other, signer.public_key()).await,
            Err(ProofError::Unsupported(_))
        ));
        let mut bad = signed.clone();
        bad["proof"]["proofValue"] = json!("uAAAA");
        assert!(matches!(
            verify(&bad, signer.public_key()).await,
            Err(ProofError::MalformedValue)
        ));
        assert!(matches!(
            verify(&credential(), signer.public_key()).await,
            Err(ProofError::Missing)
        ));
    }
}
