//! The lms-adapter's configuration (see `akashi_runtime::config` for the layering).

use akashi_runtime::CommonConfig;
use secrecy::SecretString;
use serde::Deserialize;

/// lms-adapter settings.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub common: CommonConfig,
    /// How old (or how far ahead) a webhook signature may be, in seconds.
    #[serde(default = "default_tolerance")]
    pub signature_tolerance_secs: i64,
    /// How long a platform's JWKS is trusted before it is fetched again.
    #[serde(default = "default_jwks_cache")]
    pub jwks_cache_secs: u64,
    /// The shortest time between two fetches of one JWKS caused by an unknown `kid`.
    #[serde(default = "default_jwks_min_refetch")]
    pub jwks_min_refetch_ms: u64,
    /// Seals the LTI tool key at rest (base64 of 32 bytes); without one the
    /// key is stored unsealed and a warning is logged.
    pub master_key: Option<SecretString>,
    /// How often Canvas is polled for lost completions and LTI rosters and
    /// scores are synced, seconds (0: never; the admin API still can).
    #[serde(default = "default_reconcile_interval")]
    pub reconcile_interval_secs: u64,
    /// Hosts (names or IP addresses) that may be fetched although they
    /// resolve to private, loopback or link-local addresses: LTI platforms,
    /// their JWKS, a Canvas instance on the operator's own network. Empty
    /// in production; the dev stack lists loopback.
    #[serde(default)]
    pub allow_private_hosts: Vec<String>,
}

fn default_reconcile_interval() -> u64 {
    900
}

fn default_jwks_cache() -> u64 {
    3600
}

fn default_jwks_min_refetch() -> u64 {
    1000
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
