//! Blockcerts v3 documents: the certificate of an award (before its proof),
//! the `merkle-proof-2019` proof, and the Blockcerts issuer profile — shaped
//! as the reference verifier reads them (research notes, blockcerts §1–4, §8).

use akashi_chain::Address;
use akashi_ld::blockcerts::{EthNetwork, Receipt};
use akashi_ld::contexts;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::models::{BadgeClassRow, IssuerRow, SigningKeyRow};
use crate::domain::documents::{AssertionFacts, PublicLinks, ob_datetime};

/// The chain a deployment anchors its batches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AnchorChain {
    /// The reference tools' test chain: nothing is sent anywhere; the proof
    /// still binds every certificate to the batch's Merkle root.
    #[default]
    Mocknet,
    EthereumSepolia,
    EthereumMainnet,
}

impl AnchorChain {
    /// The name stored with each batch and sent in `blockcerts.issued`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnchorChain::Mocknet => "mocknet",
            AnchorChain::EthereumSepolia => "ethereum_sepolia",
            AnchorChain::EthereumMainnet => "ethereum_mainnet",
        }
    }

    /// The Ethereum network of the proof's anchor, for Ethereum chains.
    pub fn eth_network(self) -> Option<EthNetwork> {
        match self {
            AnchorChain::Mocknet => None,
            AnchorChain::EthereumSepolia => Some(EthNetwork::Sepolia),
            AnchorChain::EthereumMainnet => Some(EthNetwork::Mainnet),
        }
    }
}

/// How the recipient is named in a certificate: the salted SHA-256 of the
/// e-mail address (as in the OB 2.0 and 3.0 forms) and the salt, so that a
/// verifier given the address can check it, and nobody else learns it.
pub fn recipient_urn(identity_hash: &str, salt: &str) -> String {
    format!("urn:akashi:recipient:{}:{salt}", identity_hash.replace('$', ":"))
}

/// The Blockcerts v3 certificate of an award, without its proof. Every term
/// is defined by the VC 2.0 or Blockcerts 3.2 context: the reference verifier
/// refuses a field it cannot map, and Akashi's canonicalizer refuses it
/// earlier, at issue time.
pub fn certificate(
    issuer: &IssuerRow,
    badge: &BadgeClassRow,
    facts: &AssertionFacts<'_>,
    links: &PublicLinks,
) -> Value {
    let mut claim = json!({
        "name": badge.name,
        "description": badge.description,
        "criteria": badge.criteria_narrative,
        "image": links.badge_image(badge.id),
        "url": links.badge_class(badge.id),
    });
    if let Some(url) = &badge.criteria_url {
        claim["criteria"] = json!(url);
    }
    let mut certificate = json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::BLOCKCERTS_V3_2],
        "id": links.blockcerts_certificate(facts.award_id),
        "type": ["VerifiableCredential", "BlockcertsCredential"],
        "issuer": links.blockcerts_issuer(issuer.id),
        "name": badge.name,
        "description": badge.description,
        "validFrom": ob_datetime(facts.issued_on),
        "credentialSubject": {
            "id": recipient_urn(facts.identity_hash, facts.salt),
            "claim": claim,
        },
    });
    if let Some(expires) = facts.expires {
        certificate["validUntil"] = json!(ob_datetime(expires));
    }
    certificate
}

/// The `merkle-proof-2019` proof of a certificate (the modern
/// `DataIntegrityProof` form cert-issuer 3.x writes).
pub fn proof(receipt: &Receipt, created: DateTime<Utc>, verification_method: &str) -> Value {
    json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "merkle-proof-2019",
        "created": ob_datetime(created),
        "proofPurpose": "assertionMethod",
        "verificationMethod": verification_method,
        "proofValue": receipt.encode(),
    })
}

/// The address of an anchoring key, from its stored JWK.
pub fn anchoring_address(key: &SigningKeyRow) -> Option<Address> {
    Address::of_jwk(&key.public_jwk)
}

/// The Blockcerts issuer profile. `publicKey` lists every anchoring account
/// the issuer has had, with the dates it was valid (the reference verifier
/// refuses an anchor sent by an address outside its window);
/// `verificationMethod` gives each as a secp256k1 JWK, from which verifiers
/// derive the address and compare it with the transaction's sender.
pub fn profile(issuer: &IssuerRow, anchoring_keys: &[SigningKeyRow], links: &PublicLinks) -> Value {
    let id = links.blockcerts_issuer(issuer.id);
    let public_keys: Vec<Value> = anchoring_keys
        .iter()
        .filter_map(|k| {
            let mut entry = json!({
                "id": format!("ecdsa-koblitz-pubkey:{}", anchoring_address(k)?.to_hex()),
                "created": ob_datetime(k.valid_from),
            });
            if let Some(until) = k.valid_until {
                entry["expires"] = json!(ob_datetime(until));
            }
            Some(entry)
        })
        .collect();
    let methods: Vec<Value> = anchoring_keys
        .iter()
        .map(|k| {
            let mut jwk = k.public_jwk.clone();
            if let Some(jwk) = jwk.as_object_mut() {
                // Only the public parameters: kid/use/alg belong to the JWKS.
                jwk.retain(|name, _| matches!(name.as_str(), "kty" | "crv" | "x" | "y"));
            }
            json!({
                "id": links.blockcerts_verification_method(issuer.id, k.id),
                "type": "JsonWebKey2020",
                "controller": id,
                "publicKeyJwk": jwk,
            })
        })
        .collect();
    json!({
        "@context": ["https://w3id.org/openbadges/v2", contexts::BLOCKCERTS_V3_2],
        "type": "Profile",
        "id": id,
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "publicKey": public_keys,
        "verificationMethod": methods,
        "revocationList": links.blockcerts_revocations(issuer.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipient_urn_carries_hash_and_salt() {
        assert_eq!(
            recipient_urn("sha256$ab12", "c0ffee"),
            "urn:akashi:recipient:sha256:ab12:c0ffee"
        );
    }

    #[test]
    fn chains_parse_from_configuration_names() {
        let chain: AnchorChain = serde_json::from_value(json!("ethereum_sepolia")).unwrap();
        assert_eq!(chain, AnchorChain::EthereumSepolia);
        assert_eq!(chain.eth_network(), Some(EthNetwork::Sepolia));
        assert!(serde_json::from_value::<AnchorChain>(json!("bitcoin")).is_err());
    }
}
