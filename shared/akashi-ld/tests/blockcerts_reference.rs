//! Blockcerts built from akashi-ld's pieces alone — safe-mode RDFC-1.0
//! target hashes, the Merkle tree, merkle-proof-2019 proof values with a
//! mocknet anchor — judged by the reference verifier
//! (`@blockcerts/cert-verifier-js`, offline: `tests/tools/blockcerts`):
//! every certificate of a batch VERIFIED, a tampered one FAILED.

use std::path::{Path, PathBuf};
use std::process::Command;

use akashi_ld::blockcerts::{Anchor, MerkleTree, Receipt, target_hash};
use akashi_ld::{canonicalize, contexts};
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:9/blockcerts/issuers/reference-test";

fn certificate(n: usize) -> Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::BLOCKCERTS_V3_2],
        "id": format!("urn:uuid:6f3f2c8e-0000-4000-8000-00000000000{n}"),
        "type": ["VerifiableCredential", "BlockcertsCredential"],
        "issuer": ISSUER,
        "validFrom": "2026-11-27T00:00:00Z",
        "name": "Introduction to Data Science",
        "description": format!("Awarded to learner {n}.\tTabs and \"quotes\" are escaped alike."),
        "credentialSubject": {
            "id": format!("did:example:learner-{n}"),
            "claim": {"name": "Introduction to Data Science", "description": "Completed DEMO-101"}
        }
    })
}

fn judge(certificate: &Value, dir: &Path, name: &str) -> Value {
    let cert_path = dir.join(format!("{name}.json"));
    std::fs::write(&cert_path, serde_json::to_vec(certificate).unwrap()).unwrap();
    let profile = dir.join("profile.json");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/tools/blockcerts/verify.mjs");
    let output = Command::new("node")
        .arg(script)
        .arg(&cert_path)
        .arg("--pin")
        .arg(format!("{ISSUER}={}", profile.display()))
        .output()
        .expect("node runs the reference verifier (./scripts/install-test-tools)");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "reference verifier output: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test]
async fn the_reference_verifier_accepts_our_batch_and_refuses_a_tampered_certificate() {
    let dir = std::env::temp_dir().join(format!("akashi-blockcerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("profile.json"),
        serde_json::to_vec(&json!({
            "@context": ["https://w3id.org/openbadges/v2", "https://w3id.org/blockcerts/v3"],
            "type": "Profile",
            "id": ISSUER,
            "name": "Akashi Demo University",
            "email": "badges@akashi.example",
            "url": "https://akashi.example"
        }))
        .unwrap(),
    )
    .unwrap();

    let batch: Vec<Value> = (1..=3).map(certificate).collect();
    let mut leaves = Vec::new();
    for cert in &batch {
        leaves.push(target_hash(&canonicalize(cert).await.unwrap()));
    }
    let tree = MerkleTree::new(leaves.clone());
    let signed: Vec<Value> = batch
        .iter()
        .enumerate()
        .map(|(i, cert)| {
            let receipt = Receipt {
                merkle_root: tree.root(),
                target_hash: leaves[i],
                path: tree.path(i),
                anchors: vec![Anchor::Mocknet {
                    txid: tree.root().to_vec(),
                }],
            };
            let mut cert = cert.clone();
            cert["proof"] = json!({
                "type": "DataIntegrityProof",
                "cryptosuite": "merkle-proof-2019",
                "created": "2026-11-27T00:00:00Z",
                "proofPurpose": "assertionMethod",
                "verificationMethod": format!("{ISSUER}#key-1"),
                "proofValue": receipt.encode(),
            });
            cert
        })
        .collect();
    for (i, cert) in signed.iter().enumerate() {
        let verdict = judge(cert, &dir, &format!("cert-{i}"));
        assert_eq!(verdict["status"], "success", "certificate {i}: {verdict:#}");
        let passed: Vec<&str> = verdict["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "success")
            .filter_map(|s| s["code"].as_str())
            .collect();
        for step in ["computeLocalHash", "compareHashes", "checkReceipt"] {
            assert!(
                passed.contains(&step),
                "the verifier ran and passed {step}: {verdict:#}"
            );
        }
    }
    let mut tampered = signed[1].clone();
    tampered["name"] = json!("Advanced Data Science");
    let verdict = judge(&tampered, &dir, "tampered");
    assert_eq!(verdict["status"], "failure", "{verdict:#}");
    assert!(verdict["steps"].to_string().contains("compareHashes"), "{verdict:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
