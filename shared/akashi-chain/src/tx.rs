//! Legacy (type 0) transactions with EIP-155 replay protection: the form
//! every Ethereum node and ganache accept, and the one cert-issuer sends.

use alloy_rlp::{Encodable, Header};

use crate::account::{Address, AnchoringKey};
use crate::keccak256;

/// An unsigned legacy transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTx {
    pub nonce: u64,
    pub gas_price: u128,
    pub gas_limit: u64,
    pub to: Address,
    pub value: u128,
    pub data: Vec<u8>,
}

/// A signed transaction: the raw bytes for `eth_sendRawTransaction` and the
/// hash the network will know it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub raw: Vec<u8>,
    pub hash: [u8; 32],
}

/// A big-endian unsigned integer as RLP wants it: no leading zero bytes.
fn minimal(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn rlp_list(items: &[&dyn Encodable]) -> Vec<u8> {
    let payload_length = items.iter().map(|i| i.length()).sum();
    let mut out = Vec::with_capacity(payload_length + 9);
    Header {
        list: true,
        payload_length,
    }
    .encode(&mut out);
    for item in items {
        item.encode(&mut out);
    }
    out
}

impl LegacyTx {
    /// The EIP-155 signing payload: the six fields, then chain id, 0, 0.
    fn signing_hash(&self, chain_id: u64) -> [u8; 32] {
        let (to, data) = (&self.to.0[..], &self.data[..]);
        keccak256(&rlp_list(&[
            &self.nonce,
            &self.gas_price,
            &self.gas_limit,
            &to,
            &self.value,
            &data,
            &chain_id,
            &0u8,
            &0u8,
        ]))
    }

    /// Signs for `chain_id` with `key`.
    pub fn sign(&self, chain_id: u64, key: &AnchoringKey) -> SignedTx {
        let (signature, recovery) = key.sign_digest(&self.signing_hash(chain_id));
        let v = u128::from(chain_id) * 2 + 35 + u128::from(recovery);
        let (r, s) = (minimal(&signature[..32]), minimal(&signature[32..]));
        let (to, data) = (&self.to.0[..], &self.data[..]);
        let raw = rlp_list(&[
            &self.nonce,
            &self.gas_price,
            &self.gas_limit,
            &to,
            &self.value,
            &data,
            &v,
            &r,
            &s,
        ]);
        SignedTx {
            hash: keccak256(&raw),
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of EIP-155 itself: nonce 9, 20 gwei, 21,000 gas,
    /// to 0x3535…35, 1 ether, chain 1, key 0x4646…46.
    #[test]
    fn the_eip155_example_signs_to_the_published_bytes() {
        let key = AnchoringKey::from_secret(&[0x46; 32]).unwrap();
        let tx = LegacyTx {
            nonce: 9,
            gas_price: 20_000_000_000,
            gas_limit: 21_000,
            to: Address([0x35; 20]),
            value: 1_000_000_000_000_000_000,
            data: vec![],
        };
        assert_eq!(
            hex::encode(tx.signing_hash(1)),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
        );
        let signed = tx.sign(1, &key);
        assert_eq!(
            hex::encode(&signed.raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        );
    }
}
