//! The few Ethereum JSON-RPC calls anchoring and verification need, over
//! HTTP(S) to one operator-configured node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::account::Address;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("the Ethereum node could not be reached: {0}")]
    Transport(String),
    #[error("the Ethereum node answered {code}: {message}")]
    Node { code: i64, message: String },
    #[error("the Ethereum node's answer is not understood: {0}")]
    Answer(String),
}

/// A mined transaction as a verifier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinedTx {
    pub from: Address,
    pub to: Option<Address>,
    pub input: Vec<u8>,
    /// `None` while pending.
    pub block_number: Option<u64>,
}

/// A transaction receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxReceipt {
    pub block_number: u64,
    /// Whether the transaction succeeded (`status` 0x1).
    pub succeeded: bool,
}

/// A JSON-RPC client for one node.
#[derive(Debug)]
pub struct EthRpc {
    client: reqwest::Client,
    url: String,
    next_id: AtomicU64,
}

fn quantity(value: &Value) -> Result<u128, RpcError> {
    let text = value
        .as_str()
        .and_then(|t| t.strip_prefix("0x"))
        .ok_or_else(|| RpcError::Answer(format!("not a hex quantity: {value}")))?;
    u128::from_str_radix(if text.is_empty() { "0" } else { text }, 16)
        .map_err(|e| RpcError::Answer(format!("not a hex quantity {value}: {e}")))
}

fn quantity_u64(value: &Value) -> Result<u64, RpcError> {
    u64::try_from(quantity(value)?).map_err(|_| RpcError::Answer(format!("quantity too large: {value}")))
}

fn data(value: &Value) -> Result<Vec<u8>, RpcError> {
    let text = value
        .as_str()
        .and_then(|t| t.strip_prefix("0x"))
        .ok_or_else(|| RpcError::Answer(format!("not hex data: {value}")))?;
    hex::decode(text).map_err(|e| RpcError::Answer(format!("not hex data: {e}")))
}

fn address(value: &Value) -> Result<Address, RpcError> {
    value
        .as_str()
        .and_then(Address::parse)
        .ok_or_else(|| RpcError::Answer(format!("not an address: {value}")))
}

fn tx_hash_param(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

impl EthRpc {
    /// A client for the node at `url`, each call bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with rustls");
        Self {
            client,
            url: url.to_string(),
            next_id: AtomicU64::new(1),
        }
    }

    /// One call; `Ok(Value::Null)` when the node answers `null`.
    async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let response = self
            .client
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| RpcError::Answer(format!("HTTP {status}: {e}")))?;
        if let Some(error) = body.get("error") {
            return Err(RpcError::Node {
                code: error["code"].as_i64().unwrap_or_default(),
                message: error["message"].as_str().unwrap_or_default().to_string(),
            });
        }
        Ok(body.get("result").cloned().unwrap_or(Value::Null))
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        quantity_u64(&self.call("eth_chainId", json!([])).await?)
    }

    /// `eth_gasPrice`.
    pub async fn gas_price(&self) -> Result<u128, RpcError> {
        quantity(&self.call("eth_gasPrice", json!([])).await?)
    }

    /// `eth_getTransactionCount(address, "pending")`: the next nonce.
    pub async fn pending_nonce(&self, account: Address) -> Result<u64, RpcError> {
        quantity_u64(
            &self
                .call("eth_getTransactionCount", json!([account.to_hex(), "pending"]))
                .await?,
        )
    }

    /// `eth_getBalance(address, "latest")` in wei.
    pub async fn balance(&self, account: Address) -> Result<u128, RpcError> {
        quantity(&self.call("eth_getBalance", json!([account.to_hex(), "latest"])).await?)
    }

    /// `eth_sendRawTransaction`; the node's transaction hash.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<[u8; 32], RpcError> {
        let answer = self
            .call("eth_sendRawTransaction", json!([format!("0x{}", hex::encode(raw))]))
            .await?;
        data(&answer)?
            .try_into()
            .map_err(|_| RpcError::Answer("a transaction hash is not 32 bytes".into()))
    }

    /// `eth_getTransactionReceipt`; `None` until mined.
    pub async fn receipt(&self, hash: &[u8; 32]) -> Result<Option<TxReceipt>, RpcError> {
        let answer = self
            .call("eth_getTransactionReceipt", json!([tx_hash_param(hash)]))
            .await?;
        if answer.is_null() {
            return Ok(None);
        }
        Ok(Some(TxReceipt {
            block_number: quantity_u64(&answer["blockNumber"])?,
            succeeded: quantity(&answer["status"])? == 1,
        }))
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64, RpcError> {
        quantity_u64(&self.call("eth_blockNumber", json!([])).await?)
    }

    /// `eth_getTransactionByHash`; `None` if the node does not know it.
    pub async fn transaction(&self, hash: &[u8; 32]) -> Result<Option<MinedTx>, RpcError> {
        let answer = self
            .call("eth_getTransactionByHash", json!([tx_hash_param(hash)]))
            .await?;
        if answer.is_null() {
            return Ok(None);
        }
        Ok(Some(MinedTx {
            from: address(&answer["from"])?,
            to: if answer["to"].is_null() {
                None
            } else {
                Some(address(&answer["to"])?)
            },
            input: data(&answer["input"])?,
            block_number: if answer["blockNumber"].is_null() {
                None
            } else {
                Some(quantity_u64(&answer["blockNumber"])?)
            },
        }))
    }

    /// The timestamp (seconds since the epoch) of block `number`.
    pub async fn block_timestamp(&self, number: u64) -> Result<i64, RpcError> {
        let answer = self
            .call("eth_getBlockByNumber", json!([format!("0x{number:x}"), false]))
            .await?;
        if answer.is_null() {
            return Err(RpcError::Answer(format!("block {number} is unknown")));
        }
        i64::try_from(quantity(&answer["timestamp"])?).map_err(|_| RpcError::Answer("timestamp too large".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_data_parse_as_nodes_write_them() {
        assert_eq!(quantity(&json!("0x0")).unwrap(), 0);
        assert_eq!(quantity(&json!("0x")).unwrap(), 0);
        assert_eq!(quantity(&json!("0xaa36a7")).unwrap(), 11_155_111);
        assert!(quantity(&json!("12")).is_err());
        assert!(quantity(&json!(12)).is_err());
        assert_eq!(data(&json!("0xdead")).unwrap(), vec![0xde, 0xad]);
        assert!(data(&json!("0xdea")).is_err());
    }
}
