//! Host's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use serde::Deserialize;

/// Host settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8082)?)
    }
}
