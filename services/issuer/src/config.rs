//! The issuer's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
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
}

impl Config {
    /// Defaults, `AKASHI_CONFIG` file, then the environment.
    pub fn load() -> anyhow::Result<Self> {
        Ok(akashi_runtime::config::load(crate::SERVICE, 8081)?)
    }
}
