//! Open Badges 3.0 with a Data Integrity proof (`DataIntegrityProof`,
//! cryptosuite `eddsa-rdfc-2022`): the proof's shape, its verification
//! method resolved (an http(s) controller document — the issuer's Profile —
//! or a `did:key`), controlled by the issuer and authorized for assertions,
//! the signature over the safe-mode canonical form, then the checks every
//! OB 3.0 credential gets.

use akashi_crypto::ed25519::raw_from_multikey;
use akashi_ld::CanonError;
use akashi_ld::data_integrity::{self, ProofError};
use akashi_model::EmailAddress;
use serde_json::Value;

use crate::checks::ob2_hosted::{Fetch, Findings, fetch_node};
use crate::checks::ob3_vcjwt::{assertion_method, check_credential, check_shape};
use crate::domain::fetch::Fetcher;
use crate::domain::report::{Checks, Status};

/// Whether `credential` carries a Data Integrity proof (of any suite).
pub fn has_data_integrity_proof(credential: &Value) -> bool {
    let proof = match &credential["proof"] {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    };
    proof["type"] == data_integrity::PROOF_TYPE
}

/// The raw Ed25519 key behind `method_url`, if `issuer_id` controls it.
async fn resolve_key(fetcher: &Fetcher, method_url: &str, issuer_id: &str, checks: &mut Checks) -> Option<[u8; 32]> {
    if let Some(did) = method_url.strip_prefix("did:key:") {
        // did:key is self-describing: the key is in the identifier.
        let (multikey, fragment) = did.split_once('#').unwrap_or((did, did));
        let controller = format!("did:key:{multikey}");
        return (controller == issuer_id && fragment == multikey)
            .then(|| raw_from_multikey(multikey))
            .flatten();
    }
    let mut url = url::Url::parse(method_url).ok()?;
    url.set_fragment(None);
    let Fetch::Json(document) = fetch_node(
        fetcher,
        checks,
        "fetch_key",
        ("verification method's controller document", "検証メソッドの管理文書"),
        &url,
    )
    .await
    else {
        return None;
    };
    let method = assertion_method(&document, method_url, issuer_id)?;
    if method["type"] != "Multikey" {
        return None;
    }
    method["publicKeyMultibase"].as_str().and_then(raw_from_multikey)
}

/// Runs the OB 3.0 Data Integrity procedure.
pub async fn verify(
    fetcher: &Fetcher,
    credential: &Value,
    expected_recipient: Option<&EmailAddress>,
    trusted: &[String],
    checks: &mut Checks,
) -> Findings {
    let mut findings = Findings {
        credential_id: credential["id"].as_str().map(str::to_owned),
        ..Default::default()
    };
    let proof = match data_integrity::proof_of(credential) {
        Ok(proof) => proof,
        Err(e) => {
            checks.fail(
                "proof",
                Status::Invalid,
                format!("Proof: {e} (Akashi verifies DataIntegrityProof with eddsa-rdfc-2022)."),
                format!("証明: {e}(DataIntegrityProof と eddsa-rdfc-2022 に対応しています)"),
            );
            return findings;
        }
    };
    checks.pass(
        "proof",
        "A DataIntegrityProof (eddsa-rdfc-2022) for assertions.",
        "assertionMethod の DataIntegrityProof(eddsa-rdfc-2022)です。",
    );
    let Some(issuer_id) = check_shape(credential, checks) else {
        return findings;
    };
    let method = proof["verificationMethod"].as_str().unwrap_or_default().to_string();
    let Some(key) = resolve_key(fetcher, &method, &issuer_id, checks).await else {
        checks.fail(
            "key_ownership",
            Status::Invalid,
            "The verification method is not an Ed25519 Multikey that the issuer controls and authorizes for assertions.",
            "検証メソッドが発行者の管理する assertionMethod の Ed25519 Multikey ではありません。",
        );
        return findings;
    };
    checks.pass(
        "key_ownership",
        "The key is the issuer's, authorized for assertions.",
        "鍵は発行者のもので、assertionMethod に含まれています。",
    );
    match data_integrity::verify(credential, &key).await {
        Ok(()) => checks.pass(
            "signature",
            "The proof verifies over the canonical form (RDFC-1.0).",
            "正規化形式(RDFC-1.0)に対して証明を検証できました。",
        ),
        Err(ProofError::Canonicalization(e @ CanonError::TooComplex(_))) => {
            checks.too_complex(e);
            return findings;
        }
        Err(ProofError::Canonicalization(e)) => {
            // Safe mode: what cannot be expanded is refused, never dropped.
            checks.fail(
                "json_ld",
                Status::Invalid,
                format!("The credential is not well-formed JSON-LD: {e}."),
                format!("資格情報が正しい JSON-LD ではありません: {e}"),
            );
            return findings;
        }
        Err(e) => {
            checks.fail(
                "signature",
                Status::Invalid,
                format!("Signature: {e}."),
                format!("署名: {e}"),
            );
            return findings;
        }
    }
    check_credential(
        fetcher,
        credential,
        &issuer_id,
        expected_recipient,
        trusted,
        checks,
        &mut findings,
    )
    .await;
    findings
}
