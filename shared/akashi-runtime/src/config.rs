//! Configuration: defaults, then a TOML file, then environment variables.
//!
//! - File: `AKASHI_CONFIG=/path/akashi.toml`, with a `[default]` table shared by
//!   every service and a `[<service>]` table (e.g. `[issuer]`) for one.
//! - Environment: `AKASHI_<KEY>` for every service (nested keys with `__`,
//!   e.g. `AKASHI_AMQP__NAMESPACE`); the conventional `DATABASE_URL`,
//!   `AMQP_URL` and `PORT`; and `AKASHI_<SERVICE>_<KEY>` (e.g.
//!   `AKASHI_ISSUER_PORT`) for one service, which wins over all the rest.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use akashi_bus::BusConfig;

/// Where each service is reachable from outside; the ids of hosted
/// documents are built from these, so they must be the public addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicUrls {
    pub issuer: String,
    pub host: String,
    pub display: String,
    pub verifier: String,
    pub lms_adapter: String,
}

impl Default for PublicUrls {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8081".into(),
            host: "http://127.0.0.1:8082".into(),
            display: "http://127.0.0.1:8083".into(),
            verifier: "http://127.0.0.1:8084".into(),
            lms_adapter: "http://127.0.0.1:8085".into(),
        }
    }
}

/// The AMQP part of the configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AmqpSettings {
    pub url: String,
    pub namespace: String,
    pub prefetch: u16,
    pub max_deliveries: u32,
    pub retry_base_ms: u64,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        let d = BusConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f");
        Self {
            url: d.url,
            namespace: d.namespace,
            prefetch: d.prefetch,
            max_deliveries: d.max_deliveries,
            retry_base_ms: d.retry_base_ms,
        }
    }
}

impl From<&AmqpSettings> for BusConfig {
    fn from(a: &AmqpSettings) -> Self {
        BusConfig {
            url: a.url.clone(),
            namespace: a.namespace.clone(),
            prefetch: a.prefetch,
            max_deliveries: a.max_deliveries,
            retry_base_ms: a.retry_base_ms,
        }
    }
}

/// Settings every service has.
#[derive(Debug, Clone, Deserialize)]
pub struct CommonConfig {
    pub bind: String,
    pub port: u16,
    pub database_url: String,
    pub db_pool_size: usize,
    pub amqp: AmqpSettings,
    /// The bootstrap admin token (all scopes); never logged.
    pub admin_token: Option<SecretString>,
    pub public_urls: PublicUrls,
    /// `json` (default) or `pretty`.
    pub log_format: String,
    /// The bearer token Prometheus presents at `/metrics`. Without one,
    /// `/metrics` answers loopback clients only (a scraper on the same host);
    /// behind a reverse proxy on the same host, set one.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

#[derive(Serialize)]
struct CommonDefaults {
    bind: String,
    port: u16,
    database_url: String,
    db_pool_size: usize,
    amqp: AmqpSettings,
    public_urls: PublicUrls,
    log_format: String,
}

/// Loads `T` (which usually flattens a [`CommonConfig`]) for `service`
/// listening on `default_port` with database `akashi_<service>` by default.
pub fn load<T: DeserializeOwned>(service: &str, default_port: u16) -> Result<T, Box<figment::Error>> {
    let db_name = format!("akashi_{}", service.replace('-', "_"));
    let defaults = CommonDefaults {
        bind: "127.0.0.1".into(),
        port: default_port,
        database_url: format!("postgres://postgres@127.0.0.1:5432/{db_name}"),
        db_pool_size: 16,
        amqp: AmqpSettings::default(),
        public_urls: PublicUrls::default(),
        log_format: "json".into(),
    };
    let service_prefix = format!("AKASHI_{}_", service.replace('-', "_").to_uppercase());
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Ok(path) = std::env::var("AKASHI_CONFIG") {
        figment = figment.merge(Toml::file_exact(path).nested()).select(service);
    }
    figment = figment
        .merge(Env::prefixed("AKASHI_").split("__"))
        .merge(Env::raw().only(&["DATABASE_URL", "PORT"]))
        .merge(Env::raw().only(&["AMQP_URL"]).map(|_| "amqp.url".into()))
        .merge(Env::prefixed(&service_prefix).split("__"));
    figment.extract().map_err(Box::new)
}

#[cfg(test)]
// figment::Jail fixes its closures' error type (figment::Error, which is large).
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Svc {
        #[serde(flatten)]
        common: CommonConfig,
        greeting: Option<String>,
    }

    #[test]
    fn layers_defaults_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "akashi.toml",
                "[default]\nlog_format = \"pretty\"\n[demo]\ngreeting = \"hi\"\nport = 9000\n",
            )?;
            jail.set_env("AKASHI_CONFIG", "akashi.toml");
            jail.set_env("AKASHI_AMQP__NAMESPACE", "t1");
            jail.set_env("AMQP_URL", "amqp://x@127.0.0.1:5672/%2f");
            jail.set_env("AKASHI_DEMO_DATABASE_URL", "postgres://postgres@127.0.0.1/other");
            let c: Svc = load("demo", 8000).expect("loads");
            assert_eq!(c.common.port, 9000, "file's service table overrides the default");
            assert_eq!(c.common.log_format, "pretty", "file's [default] applies");
            assert_eq!(c.greeting.as_deref(), Some("hi"));
            assert_eq!(c.common.amqp.namespace, "t1");
            assert_eq!(c.common.amqp.url, "amqp://x@127.0.0.1:5672/%2f");
            assert_eq!(c.common.database_url, "postgres://postgres@127.0.0.1/other");
            Ok(())
        });
    }

    #[test]
    fn defaults_name_the_service_database() {
        figment::Jail::expect_with(|_| {
            let c: Svc = load("lms-adapter", 8085).expect("loads");
            assert_eq!(
                c.common.database_url,
                "postgres://postgres@127.0.0.1:5432/akashi_lms_adapter"
            );
            assert_eq!(c.common.port, 8085);
            assert!(c.common.admin_token.is_none());
            Ok(())
        });
    }
}
