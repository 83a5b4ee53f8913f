//! Display's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use secrecy::SecretString;
use serde::Deserialize;

/// Display settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How display reaches the verifier, if not at its public URL.
    pub verifier_internal_url: Option<String>,
    /// The verifier API key badge pages verify with
    /// (`AKASHI_DISPLAY_VERIFIER_API_KEY`), so that their live status checks
    /// are not counted against the anonymous per-address limit. The public
    /// verify page never uses it: its visitors are anonymous callers.
    pub verifier_api_key: Option<SecretString>,
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
