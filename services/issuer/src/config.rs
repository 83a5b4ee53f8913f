//! The issuer's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;

use crate::domain::blockcerts::AnchorChain;
use secrecy::SecretString;
use serde::Deserialize;

/// Issuer settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Base64 of 32 random bytes; seals issuers' private keys at rest.
    /// Required: without it no credential can be signed. Never logged.
    pub master_key: Option<SecretString>,
    /// Blockcerts batching and anchoring (`AKASHI_ISSUER_BLOCKCERTS__*`).
    #[serde(default)]
    pub blockcerts: BlockcertsConfig,
    /// Outgoing events to subscribers (`AKASHI_ISSUER_WEBHOOKS__*`).
    #[serde(default)]
    pub webhooks: WebhooksConfig,
}

/// How events are delivered to subscribers' endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Hosts that may be plain http or resolve to private addresses (the
    /// development configuration allows loopback); everything else must be
    /// a public https endpoint.
    pub allow_private_hosts: Vec<String>,
    /// The first retry waits about this long; each next one twice as long…
    pub retry_base_ms: u64,
    /// …up to this.
    pub retry_max_ms: u64,
    /// A delivery still failing this long after its event is marked failed,
    /// and a subscription whose deliveries have all failed for this long is
    /// turned off (3 days).
    pub give_up_after_secs: u64,
    /// One request's time limit.
    pub timeout_ms: u64,
    /// How long a replica holds a delivery it is sending; after a crash
    /// another sends it (the same `webhook-id`) once this has passed.
    pub lease_secs: u64,
    /// How often awards that expired are looked for (`badge.expired`).
    pub expiry_scan_secs: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private_hosts: Vec::new(),
            retry_base_ms: 5_000,
            retry_max_ms: 3_600_000,
            give_up_after_secs: 3 * 24 * 3600,
            timeout_ms: 10_000,
            lease_secs: 60,
            expiry_scan_secs: 60,
        }
    }
}

/// How Blockcerts certificates are batched and anchored.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BlockcertsConfig {
    /// `mocknet` (development, tests), `ethereum_sepolia` or `ethereum_mainnet`.
    pub chain: AnchorChain,
    /// A batch is anchored when it holds this many certificates…
    pub batch_size: usize,
    /// …or when its oldest certificate has waited this long.
    pub max_wait_ms: u64,
    /// The Ethereum JSON-RPC node (required for the Ethereum chains).
    pub ethereum_rpc_url: Option<String>,
    /// Blocks that must include the anchor (1 = mined) before certificates are published.
    pub confirmations: u64,
}

impl Default for BlockcertsConfig {
    fn default() -> Self {
        Self {
            chain: AnchorChain::Mocknet,
            batch_size: 1000,
            max_wait_ms: 5000,
            ethereum_rpc_url: None,
            confirmations: 3,
        }
    }
}

impl BlockcertsConfig {
    /// Refuses settings that cannot work, at start-up rather than at the first batch.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100_000).contains(&self.batch_size),
            "blockcerts.batch_size must be 1..=100000"
        );
        anyhow::ensure!(self.confirmations >= 1, "blockcerts.confirmations must be at least 1");
        if self.chain.eth_network().is_some() {
            let url = self.ethereum_rpc_url.as_deref().unwrap_or_default();
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "blockcerts.ethereum_rpc_url (an http(s) JSON-RPC URL) is required for chain {}",
                self.chain.as_str()
            );
        }
        Ok(())
    }
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8081)?)
    }
}
