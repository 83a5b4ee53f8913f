//! Anchoring Blockcerts batches on Ethereum, as cert-issuer does and the
//! reference verifier reads it (research notes, blockcerts §5 and §8): one
//! legacy EIP-155 transaction per batch from the issuer's own secp256k1
//! account to `0xdead…dead`, value 0, data = the 32-byte Merkle root,
//! signed here (the key never leaves the issuer) and sent as raw bytes to
//! an operator-configured JSON-RPC node.

pub mod account;
pub mod rpc;
pub mod tx;

pub use account::{Address, AnchoringKey};
pub use rpc::{EthRpc, RpcError};
pub use tx::{LegacyTx, SignedTx};

/// Keccak-256.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    use sha3::Digest;
    sha3::Keccak256::digest(bytes).into()
}

/// The burn address Blockcerts anchors are sent to.
pub const BURN_ADDRESS: Address = Address([
    0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde, 0xad, 0xde,
    0xad,
]);

/// Gas for an anchor: 21,000 + 16 per non-zero data byte (32 at most) = 21,512
/// at worst; cert-issuer's limit.
pub const ANCHOR_GAS_LIMIT: u64 = 25_000;
