//! Issues one Blockcerts batch end to end in memory — the issuer's target
//! hash (safe-mode RDFC-1.0 through the shape template, with the fallback
//! vocabulary check) → Merkle tree → every proof value — and prints the
//! wall time. The reference cert-issuer takes 58.5 s for 10,000 on this
//! kind of machine (research notes, blockcerts §7).
//!
//!     cargo bench -p akashi-ld --bench blockcerts_batch -- [certificates] [threads] [general]
//!
//! `general` canonicalizes every certificate with the general algorithm
//! instead of the template, for comparison.

use std::time::Instant;

use akashi_ld::blockcerts::{Anchor, MerkleTree, Receipt, certificate_target_hash, target_hash};
use akashi_ld::{canonicalize, contexts};
use serde_json::json;

/// A certificate of the shape the issuer makes (`domain::blockcerts::certificate`).
fn certificate(n: usize) -> serde_json::Value {
    json!({
        "@context": [contexts::CREDENTIALS_V2, contexts::BLOCKCERTS_V3_2],
        "id": format!("https://akashi.example/blockcerts/0193f7c2-0000-7000-8000-{n:012}"),
        "type": ["VerifiableCredential", "BlockcertsCredential"],
        "issuer": "https://akashi.example/blockcerts/issuers/0193f7c2-0000-7000-8000-000000000001",
        "name": "Introduction to Data Science",
        "description": "Awarded for completing Introduction to Data Science (DEMO-101).",
        "validFrom": "2026-11-27T00:00:00Z",
        "credentialSubject": {
            "id": format!("urn:akashi:recipient:sha256:{n:064x}:{n:032x}"),
            "claim": {
                "name": "Introduction to Data Science",
                "description": format!("Awarded to learner {n} for completing DEMO-101."),
                "criteria": "Complete every module of the course DEMO-101 in the LMS.",
                "image": "https://akashi.example/ob2/badges/1/image",
                "url": "https://akashi.example/ob2/badges/1"
            }
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let threads: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let general = args.get(2).is_some_and(|a| a == "general");
    let certificates: Vec<serde_json::Value> = (0..count).map(certificate).collect();
    let started = Instant::now();
    let chunk = count.div_ceil(threads);
    let leaves: Vec<[u8; 32]> = std::thread::scope(|scope| {
        let handles: Vec<_> = certificates
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                    part.iter()
                        .map(|c| {
                            if general {
                                target_hash(&runtime.block_on(canonicalize(c)).unwrap())
                            } else {
                                runtime.block_on(certificate_target_hash(c)).unwrap()
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let hashed = started.elapsed();
    let tree = MerkleTree::new(leaves.clone());
    let anchor = Anchor::Mocknet {
        txid: tree.root().to_vec(),
    };
    // base58 is quadratic in the proof's length (~650 bytes at depth 14):
    // encoding the proofs is spread over the threads too.
    let proofs: Vec<String> = std::thread::scope(|scope| {
        let (tree, anchor, leaves) = (&tree, &anchor, &leaves);
        let handles: Vec<_> = (0..count)
            .collect::<Vec<_>>()
            .chunks(chunk)
            .map(|part| {
                let part = part.to_vec();
                scope.spawn(move || {
                    part.into_iter()
                        .map(|i| {
                            Receipt {
                                merkle_root: tree.root(),
                                target_hash: leaves[i],
                                path: tree.path(i),
                                anchors: vec![anchor.clone()],
                            }
                            .encode()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let total = started.elapsed();
    assert_eq!(proofs.len(), count);
    println!(
        "{count} certificates on {threads} threads ({} canonicalization): {:.3} s (canonicalize+hash {:.3} s, tree+proofs {:.3} s), {:.0} certificates/s, {:.2} ms each per thread",
        if general { "general" } else { "template" },
        total.as_secs_f64(),
        hashed.as_secs_f64(),
        (total - hashed).as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 * threads as f64 / count as f64,
    );
}
