//! The verifier's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use serde::Deserialize;

/// Verifier settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Hosts (names or IP addresses) that may be fetched although they
    /// resolve to private, loopback or link-local addresses. Empty in
    /// production; the dev stack lists its own hosts.
    #[serde(default)]
    pub allow_private_hosts: Vec<String>,
    /// Issuer ids (profile URLs) on the operator's trusted list.
    #[serde(default)]
    pub trusted_issuers: Vec<String>,
    /// Per-document fetch timeout.
    #[serde(default = "default_fetch_timeout_ms")]
    pub fetch_timeout_ms: u64,
    /// The Ethereum JSON-RPC node Blockcerts anchors are looked up on
    /// (`AKASHI_VERIFIER_ETHEREUM_RPC_URL`); without one, an Ethereum-anchored
    /// certificate is answered `unknown`.
    #[serde(default)]
    pub ethereum_rpc_url: Option<String>,
    /// Largest document fetched.
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
}

fn default_fetch_timeout_ms() -> u64 {
    5_000
}
fn default_max_document_bytes() -> usize {
    1024 * 1024
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8084)?)
    }
}
