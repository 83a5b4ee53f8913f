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
    /// How long a fetched document is reused (0 = no cache). A third
    /// party's revocation is seen within this; Akashi's own at once.
    #[serde(default = "default_cache_ttl_secs")]
    pub cache_ttl_secs: u64,
    /// Bodies the document cache holds at most.
    #[serde(default = "default_cache_max_bytes")]
    pub cache_max_bytes: u64,
    /// Verifications a minute per address for callers without an API key
    /// (0: every caller needs a key).
    #[serde(default = "default_anonymous_per_minute")]
    pub anonymous_per_minute: u32,
    /// Largest document fetched.
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
    /// Announce each verification of one of Akashi's own badges to the
    /// issuer (`verification.performed` for webhook subscribers): the
    /// award, the verdict and the format, nothing about who asked. Off by
    /// default: it costs a bus message per such verification.
    #[serde(default)]
    pub verification_events: bool,
}

fn default_anonymous_per_minute() -> u32 {
    600
}
fn default_cache_ttl_secs() -> u64 {
    60
}
fn default_cache_max_bytes() -> u64 {
    64 * 1024 * 1024
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
