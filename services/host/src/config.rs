//! Host's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use secrecy::SecretString;
use serde::Deserialize;

/// Host settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How host reaches the verifier for imports, if not at its public URL.
    pub verifier_internal_url: Option<String>,
    /// The verifier API key imports are checked with
    /// (`AKASHI_HOST_VERIFIER_API_KEY`), so that they are not counted
    /// against the anonymous per-address limit.
    pub verifier_api_key: Option<SecretString>,
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8082)?)
    }
}
