//! Display's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use serde::Deserialize;

/// Display settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How display reaches the verifier, if not at its public URL.
    pub verifier_internal_url: Option<String>,
    /// Time limit for each call to host or the verifier.
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
}

fn default_upstream_timeout_ms() -> u64 {
    5_000
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8083)?)
    }
}
