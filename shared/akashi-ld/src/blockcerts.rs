//! Blockcerts v3 batches (`merkle-proof-2019`): the target hash of a
//! certificate, the Merkle tree over a batch, and the proof value — the
//! receipt (root, target, path, anchors) as CBOR in base58btc — exactly as
//! the reference tools build and read them (research notes, blockcerts §1b–3).

use ciborium::Value as Cbor;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::CanonError;
use crate::template::canonicalize_templated;

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The target hash of a certificate: SHA-256 of its canonical N-Quads.
pub fn target_hash(canonical_nquads: &str) -> Hash {
    Sha256::digest(canonical_nquads.as_bytes()).into()
}

/// The vocabulary the reference verifier maps undefined terms to, so that it
/// can name them (research notes, blockcerts §2).
const FALLBACK_VOCAB: &str = "http://fallback.org/";

/// Why a certificate has no target hash.
#[derive(Debug, thiserror::Error)]
pub enum TargetHashError {
    #[error(transparent)]
    Canon(#[from] CanonError),
    #[error("fields that no context defines: {0}")]
    Unmapped(String),
}

/// The target hash of a certificate exactly as the reference verifier
/// computes it: without its `proof`, with a fallback `@vocab` appended when
/// no context object declares one, canonicalized; a term that lands in the
/// fallback vocabulary is an error (the reference verifier says "unmapped
/// fields"), as is anything safe mode refuses.
///
/// Certificates of one shape are canonicalized through a template (see
/// [`crate::template`]), which is what makes a batch of 10,000 fast.
pub async fn certificate_target_hash(certificate: &Value) -> Result<Hash, TargetHashError> {
    let mut document = certificate.clone();
    if let Some(object) = document.as_object_mut() {
        object.remove("proof");
        let contexts = object.entry("@context").or_insert_with(|| Value::Array(Vec::new()));
        if !contexts.is_array() {
            *contexts = Value::Array(vec![contexts.take()]);
        }
        let list = contexts.as_array_mut().expect("made an array");
        if !list.iter().any(|c| c.get("@vocab").is_some()) {
            list.push(serde_json::json!({"@vocab": FALLBACK_VOCAB}));
        }
    }
    // The certificates of a batch share one shape: the template path is
    // byte-identical to the general one (tests/template_differential.rs).
    let nquads = canonicalize_templated(&document).await?;
    let unmapped: Vec<&str> = nquads
        .lines()
        .filter_map(|line| line.split(&format!("<{FALLBACK_VOCAB}")).nth(1))
        .filter_map(|rest| rest.split('>').next())
        .collect();
    if !unmapped.is_empty() {
        return Err(TargetHashError::Unmapped(unmapped.join(", ")));
    }
    Ok(target_hash(&nquads))
}

fn parent(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// One step from a leaf toward the root: the sibling and its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep {
    /// The sibling is on the left: `h = sha256(sibling ‖ h)`.
    Left(Hash),
    /// The sibling is on the right: `h = sha256(h ‖ sibling)`.
    Right(Hash),
}

/// A Merkle tree over a batch. An odd last node is promoted unchanged to
/// the next level (not duplicated), as cert-issuer does.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree over `leaves` (at least one).
    pub fn new(leaves: Vec<Hash>) -> Self {
        assert!(!leaves.is_empty(), "a batch has at least one certificate");
        let mut levels = vec![leaves];
        while levels.last().map_or(0, Vec::len) > 1 {
            let below = levels.last().expect("a level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => parent(left, right),
                    [single] => *single,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The root.
    pub fn root(&self) -> Hash {
        self.levels.last().expect("a level")[0]
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves (never: `new` refuses that).
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The path of leaf `index`, leaf to root.
    pub fn path(&self, mut index: usize) -> Vec<PathStep> {
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = index ^ 1;
            if sibling < level.len() {
                path.push(if index.is_multiple_of(2) {
                    PathStep::Right(level[sibling])
                } else {
                    PathStep::Left(level[sibling])
                });
            }
            index /= 2;
        }
        path
    }
}

/// Where a batch's root was anchored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The reference tools' test chain: nothing is looked up.
    Mocknet { txid: Vec<u8> },
    /// An Ethereum transaction carrying the root in its data.
    Ethereum { network: EthNetwork, tx_hash: Hash },
}

/// Ethereum networks the proof format names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthNetwork {
    Mainnet,
    Sepolia,
}

impl EthNetwork {
    /// The EIP-155 chain id, which the proof format also uses as network id.
    pub fn chain_id(self) -> u64 {
        self.id() as u64
    }

    fn id(self) -> i64 {
        match self {
            EthNetwork::Mainnet => 1,
            EthNetwork::Sepolia => 11_155_111,
        }
    }
    fn name(self) -> &'static str {
        match self {
            EthNetwork::Mainnet => "mainnet",
            EthNetwork::Sepolia => "sepolia",
        }
    }
    fn from_id(id: i64) -> Option<Self> {
        match id {
            1 => Some(EthNetwork::Mainnet),
            11_155_111 => Some(EthNetwork::Sepolia),
            _ => None,
        }
    }
}

impl Anchor {
    /// The anchor as a `blink:` URI. An Ethereum transaction hash is written
    /// without `0x`: with it, the reference verifier's lookup fails.
    pub fn blink(&self) -> String {
        match self {
            Anchor::Mocknet { txid } => format!("blink:mocknet:mocknet:{}", hex::encode(txid)),
            Anchor::Ethereum { network, tx_hash } => {
                format!("blink:eth:{}:{}", network.name(), hex::encode(tx_hash))
            }
        }
    }
}

/// A certificate's Merkle receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub merkle_root: Hash,
    pub target_hash: Hash,
    pub path: Vec<PathStep>,
    pub anchors: Vec<Anchor>,
}

/// Why a proof value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProofValueError {
    #[error("not a base58btc multibase value")]
    Multibase,
    #[error("not the CBOR of a merkle-proof-2019 receipt: {0}")]
    Cbor(String),
}

/// base58btc (the Bitcoin alphabet), as `bs58` writes it, but in limbs of
/// 58^8 fed two input bytes at a time rather than byte by byte: base58 is
/// quadratic in the length, and a proof of a 10,000-certificate batch is
/// ~650 bytes, so this is most of a batch's proof-encoding time. A
/// differential test holds it equal to `bs58`.
pub fn base58btc(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    const LIMB: u64 = 58u64.pow(8);
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let rest = &bytes[zeros..];
    // Little-endian limbs of the number, each < 58^8; 58^8 × 2^16 < 2^64.
    let mut limbs: Vec<u64> = Vec::with_capacity(rest.len() * 138 / 800 + 2);
    let (head, pairs) = rest.split_at(rest.len() % 2);
    let mut feed = |value: u64, radix: u64| {
        let mut carry = value;
        for limb in limbs.iter_mut() {
            let x = *limb * radix + carry;
            *limb = x % LIMB;
            carry = x / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    };
    for byte in head {
        feed(u64::from(*byte), 256);
    }
    for pair in pairs.chunks_exact(2) {
        feed(u64::from(pair[0]) << 8 | u64::from(pair[1]), 65_536);
    }
    let mut digits: Vec<u8> = Vec::with_capacity(zeros + limbs.len() * 8);
    for (i, limb) in limbs.iter().enumerate() {
        let mut limb = *limb;
        let last = i + 1 == limbs.len();
        for _ in 0..8 {
            if last && limb == 0 {
                break;
            }
            digits.push(ALPHABET[(limb % 58) as usize]);
            limb /= 58;
        }
    }
    digits.extend(std::iter::repeat_n(b'1', zeros));
    digits.reverse();
    String::from_utf8(digits).expect("the alphabet is ASCII")
}

/// A hash as the JS encoder writes it: a CBOR byte string whose content is
/// itself the CBOR byte string of the raw bytes.
fn wrapped(bytes: &[u8]) -> Cbor {
    let mut inner = Vec::new();
    ciborium::into_writer(&Cbor::Bytes(bytes.to_vec()), &mut inner).expect("CBOR into memory");
    Cbor::Bytes(inner)
}

/// The inverse of [`wrapped`]; also accepts the Python encoder's form (the
/// inner item a text string of hex).
fn unwrapped(value: &Cbor) -> Result<Vec<u8>, ProofValueError> {
    let outer = value
        .as_bytes()
        .ok_or_else(|| ProofValueError::Cbor("a hash is not a byte string".into()))?;
    let inner: Cbor = ciborium::from_reader(outer.as_slice()).map_err(|e| ProofValueError::Cbor(e.to_string()))?;
    match inner {
        Cbor::Bytes(b) => Ok(b),
        Cbor::Text(t) => hex::decode(t.trim_start_matches("0x")).map_err(|e| ProofValueError::Cbor(e.to_string())),
        _ => Err(ProofValueError::Cbor("a hash is neither bytes nor hex text".into())),
    }
}

fn hash_of(value: &Cbor) -> Result<Hash, ProofValueError> {
    unwrapped(value)?
        .try_into()
        .map_err(|_| ProofValueError::Cbor("a hash is not 32 bytes".into()))
}

fn pair(key: i64, value: Cbor) -> Cbor {
    Cbor::Array(vec![Cbor::Integer(key.into()), value])
}

impl Receipt {
    /// The `proofValue`: `z` + base58btc(CBOR).
    pub fn encode(&self) -> String {
        let anchors = self
            .anchors
            .iter()
            .map(|a| match a {
                Anchor::Mocknet { txid } => Cbor::Array(vec![
                    pair(0, Cbor::Integer((-1).into())),
                    pair(1, Cbor::Integer((-1).into())),
                    pair(2, wrapped(txid)),
                ]),
                Anchor::Ethereum { network, tx_hash } => Cbor::Array(vec![
                    pair(0, Cbor::Integer(1.into())),
                    pair(1, Cbor::Integer(network.id().into())),
                    pair(2, wrapped(tx_hash)),
                ]),
            })
            .collect();
        let path = self
            .path
            .iter()
            .map(|step| match step {
                PathStep::Left(h) => pair(0, wrapped(h)),
                PathStep::Right(h) => pair(1, wrapped(h)),
            })
            .collect();
        let root = Cbor::Array(vec![
            pair(0, wrapped(&self.merkle_root)),
            pair(1, wrapped(&self.target_hash)),
            pair(2, Cbor::Array(anchors)),
            pair(3, Cbor::Array(path)),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&root, &mut bytes).expect("CBOR into memory");
        format!("z{}", base58btc(&bytes))
    }

    /// Reads a `proofValue`.
    pub fn decode(proof_value: &str) -> Result<Self, ProofValueError> {
        let bytes = proof_value
            .strip_prefix('z')
            .and_then(|b| bs58::decode(b).into_vec().ok())
            .ok_or(ProofValueError::Multibase)?;
        let root: Cbor = ciborium::from_reader(bytes.as_slice()).map_err(|e| ProofValueError::Cbor(e.to_string()))?;
        let entries = root
            .as_array()
            .ok_or_else(|| ProofValueError::Cbor("the receipt is not an array".into()))?;
        let (mut merkle_root, mut target_hash, mut path, mut anchors) = (None, None, Vec::new(), Vec::new());
        for entry in entries {
            let (key, value) = key_value(entry)?;
            match key {
                0 => merkle_root = Some(hash_of(value)?),
                1 => target_hash = Some(hash_of(value)?),
                2 => {
                    for anchor in value.as_array().into_iter().flatten() {
                        anchors.push(decode_anchor(anchor)?);
                    }
                }
                3 => {
                    for step in value.as_array().into_iter().flatten() {
                        let (side, hash) = key_value(step)?;
                        let hash = hash_of(hash)?;
                        path.push(if side == 0 {
                            PathStep::Left(hash)
                        } else {
                            PathStep::Right(hash)
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            merkle_root: merkle_root.ok_or_else(|| ProofValueError::Cbor("no merkleRoot".into()))?,
            target_hash: target_hash.ok_or_else(|| ProofValueError::Cbor("no targetHash".into()))?,
            path,
            anchors,
        })
    }

    /// Whether the path leads from the target hash to the root.
    pub fn path_leads_to_root(&self) -> bool {
        let mut h = self.target_hash;
        for step in &self.path {
            h = match step {
                PathStep::Left(sibling) => parent(sibling, &h),
                PathStep::Right(sibling) => parent(&h, sibling),
            };
        }
        h == self.merkle_root
    }
}

fn key_value(entry: &Cbor) -> Result<(i64, &Cbor), ProofValueError> {
    match entry.as_array().map(Vec::as_slice) {
        Some([Cbor::Integer(k), v]) => {
            let k: i128 = (*k).into();
            Ok((k as i64, v))
        }
        _ => Err(ProofValueError::Cbor("an entry is not a [key, value] pair".into())),
    }
}

/// The bytes inside a wrapped value, whatever the inner item (a mock
/// transaction id may be text, as the Python encoder writes it).
fn raw_inner(value: &Cbor) -> Vec<u8> {
    let inner = value
        .as_bytes()
        .and_then(|outer| ciborium::from_reader::<Cbor, _>(outer.as_slice()).ok());
    match inner {
        Some(Cbor::Bytes(b)) => b,
        Some(Cbor::Text(t)) => t.into_bytes(),
        _ => Vec::new(),
    }
}

fn decode_anchor(anchor: &Cbor) -> Result<Anchor, ProofValueError> {
    let (mut chain, mut network, mut txid, mut mock_id) = (None, None, None, None);
    for part in anchor.as_array().into_iter().flatten() {
        let (key, value) = key_value(part)?;
        match key {
            0 => chain = value.as_integer().map(|i| i128::from(i) as i64),
            1 => {
                network = value.as_integer().map(|i| i128::from(i) as i64);
                // cert-issuer (Python) writes mocknet as [[0,-1],[1,<text>]].
                mock_id = Some(raw_inner(value));
            }
            2 => txid = Some(value),
            _ => {}
        }
    }
    match (chain, network, txid) {
        (Some(-1), _, txid) => Ok(Anchor::Mocknet {
            txid: txid.map(raw_inner).or(mock_id).unwrap_or_default(),
        }),
        (Some(1), Some(network), Some(txid)) => Ok(Anchor::Ethereum {
            network: EthNetwork::from_id(network)
                .ok_or_else(|| ProofValueError::Cbor(format!("unknown Ethereum network {network}")))?,
            // Hex text ("0x…", the Python encoder) or raw bytes (the JS one).
            tx_hash: unwrapped(txid)?
                .try_into()
                .map_err(|_| ProofValueError::Cbor("an Ethereum transaction hash is not 32 bytes".into()))?,
        }),
        _ => Err(ProofValueError::Cbor(
            "an anchor on a chain Akashi does not read".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u8) -> Hash {
        Sha256::digest([n]).into()
    }

    #[test]
    fn every_leaf_path_leads_to_the_root_and_odd_nodes_are_promoted() {
        for size in 1..=9u8 {
            let leaves: Vec<Hash> = (0..size).map(leaf).collect();
            let tree = MerkleTree::new(leaves.clone());
            for (i, l) in leaves.iter().enumerate() {
                let receipt = Receipt {
                    merkle_root: tree.root(),
                    target_hash: *l,
                    path: tree.path(i),
                    anchors: vec![],
                };
                assert!(receipt.path_leads_to_root(), "size {size} leaf {i}");
            }
        }
        assert_eq!(
            MerkleTree::new(vec![leaf(1)]).root(),
            leaf(1),
            "one leaf is its own root"
        );
        // Three leaves: the third is promoted, not paired with itself.
        let tree = MerkleTree::new(vec![leaf(0), leaf(1), leaf(2)]);
        assert_eq!(tree.root(), parent(&parent(&leaf(0), &leaf(1)), &leaf(2)));
        assert_eq!(tree.path(2), vec![PathStep::Left(parent(&leaf(0), &leaf(1)))]);
    }

    #[test]
    fn proof_values_round_trip_and_a_wrong_target_fails() {
        let tree = MerkleTree::new((0..5).map(leaf).collect());
        let receipt = Receipt {
            merkle_root: tree.root(),
            target_hash: leaf(3),
            path: tree.path(3),
            anchors: vec![
                Anchor::Mocknet {
                    txid: tree.root().to_vec(),
                },
                Anchor::Ethereum {
                    network: EthNetwork::Sepolia,
                    tx_hash: leaf(9),
                },
            ],
        };
        let encoded = receipt.encode();
        assert!(encoded.starts_with('z'));
        let decoded = Receipt::decode(&encoded).unwrap();
        assert_eq!(decoded, receipt);
        assert!(decoded.path_leads_to_root());
        let mut wrong = decoded.clone();
        wrong.target_hash = leaf(4);
        assert!(!wrong.path_leads_to_root());
        assert!(decoded.anchors[1].blink().starts_with("blink:eth:sepolia:"));
        assert!(!decoded.anchors[1].blink().contains("0x"));
        assert!(Receipt::decode("uABC").is_err());
        assert!(Receipt::decode("z111").is_err());
    }

    fn certificate() -> Value {
        serde_json::json!({
            "@context": [crate::contexts::CREDENTIALS_V2, crate::contexts::BLOCKCERTS_V3_2],
            "id": "urn:uuid:7d0ae9d4-8e5f-4a1c-9d0b-3b2a1f0e4c11",
            "type": ["VerifiableCredential", "BlockcertsCredential"],
            "issuer": "https://issuer.example/profile",
            "validFrom": "2026-11-27T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner", "claim": {"name": "Data Science"}},
        })
    }

    #[tokio::test]
    async fn the_target_hash_ignores_the_proof_and_refuses_unmapped_fields() {
        let plain = certificate_target_hash(&certificate()).await.unwrap();
        let mut with_proof = certificate();
        with_proof["proof"] = serde_json::json!({"type": "DataIntegrityProof", "proofValue": "z1"});
        assert_eq!(certificate_target_hash(&with_proof).await.unwrap(), plain);
        let mut edited = certificate();
        edited["credentialSubject"]["claim"]["name"] = serde_json::json!("Data Sciences");
        assert_ne!(certificate_target_hash(&edited).await.unwrap(), plain);
        // VC 2.0's own @vocab would quietly take an undefined term; the
        // reference verifier's fallback vocabulary names it instead.
        let mut unmapped = certificate();
        unmapped["credentialSubject"]["grade"] = serde_json::json!("A");
        match certificate_target_hash(&unmapped).await {
            Err(TargetHashError::Unmapped(fields)) => assert_eq!(fields, "grade"),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #[test]
        fn base58btc_equals_bs58(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..900),
                                 zeros in 0usize..4) {
            let mut input = vec![0u8; zeros];
            input.extend(bytes);
            proptest::prop_assert_eq!(base58btc(&input), bs58::encode(&input).into_string());
        }
    }

    #[test]
    fn base58btc_edge_cases() {
        for input in [&[][..], &[0], &[0, 0], &[1], &[57], &[58], &[0, 255, 255], &[255; 33]] {
            assert_eq!(base58btc(input), bs58::encode(input).into_string(), "{input:?}");
        }
    }

    /// A proof value cert-issuer 3.13.1 (Python encoder, mockchain) wrote:
    /// its mocknet anchor carries text where ours carries bytes.
    #[test]
    fn a_reference_issuer_proof_value_decodes() {
        let receipt = Receipt::decode("zXLtLjHCYXdac7zRmV3not9kZ9xXbwWwC8M1CM3X7QDnRmUt8RtWSFmWbb6WQnr15oyJ1eAMAE1vb64U9F4hHquh2Mc25D8s4AjtHcg2z5zPK21mEo5jV1xsci3yR1L9ujMrmyLpVGUQDMzZcB6ADt5wH4D6gS7Ur6xZeDi1S7VD3cuXL7fFQjQ2S3aPBCE4LSeneaMWco7f4VdtNZBeX7nTxR9ebxQdhYEdWNhD6qTUDtv4QtxsxcuteSgGxLceo6nCNrem9VSfrPunvbXHmdNJb8LfRFEfMKTU6A2raYk5CLDAwe6p4LmM3YowU6bv7JzpcqM8HDcECANn1TiYa62cjuoEiv2VZwD1Q2Zdr3JgUX2XZAeDgt6XLNjok8nhUxBNEfuSopPLi1c1dgedKWGBSiGB91m4sc4AfSLFmvdZcnCAZLsRBjHx7zrSnu6DEbP2J6j1eadDwBXweFm1cY5trojY2roNDpFj77ugNcRMDa").unwrap();
        assert!(receipt.path_leads_to_root());
        assert_eq!(
            hex::encode(receipt.merkle_root),
            "9308158cf690275b7f5eb45227bfc920876732d6d9cdeb8d9c711ee1b4e7f04b"
        );
        assert_eq!(
            receipt.anchors,
            vec![Anchor::Mocknet {
                txid: b"This has not been issued on a blockchain and is for testing only".to_vec()
            }]
        );
    }

    #[test]
    fn hashes_are_wrapped_as_the_js_encoder_writes_them() {
        // 0x58 0x22: a 34-byte string holding 0x58 0x20 + 32 raw bytes.
        let mut out = Vec::new();
        ciborium::into_writer(&wrapped(&[0xab; 32]), &mut out).unwrap();
        assert_eq!(&out[..4], &[0x58, 0x22, 0x58, 0x20]);
        assert_eq!(out.len(), 36);
    }
}
