//! The lms-adapter's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use serde::Deserialize;

/// lms-adapter settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How old (or how far ahead) a webhook signature may be, in seconds.
    #[serde(default = "default_tolerance")]
    pub signature_tolerance_secs: i64,
}

fn default_tolerance() -> i64 {
    akashi_crypto::webhook::DEFAULT_TOLERANCE_SECS
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8085)?)
    }
}
