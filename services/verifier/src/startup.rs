//! Wires the verifier: database, fetcher, routes.

use std::sync::Arc;
use std::time::Duration;

use akashi_chain::EthRpc;

use actix_web::web;
use akashi_db::PgPool;
use akashi_runtime::ServiceContext;

use crate::config::Config;
use crate::domain::fetch::Fetcher;
use crate::domain::net_policy::NetPolicy;
use crate::{db, routes};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub fetcher: Fetcher,
    pub trusted_issuers: Vec<String>,
    /// Where Ethereum anchors are looked up, if configured.
    pub ethereum: Option<Arc<EthRpc>>,
}

/// Runs the verifier until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let fetcher = Fetcher::new(
        NetPolicy::new(&config.allow_private_hosts),
        Duration::from_millis(config.fetch_timeout_ms),
        config.max_document_bytes,
    )?;
    let state = web::Data::new(AppState {
        pool: ctx.pool.clone(),
        fetcher,
        trusted_issuers: config.trusted_issuers.clone(),
        ethereum: config
            .ethereum_rpc_url
            .as_deref()
            .map(|url| Arc::new(EthRpc::new(url, Duration::from_millis(config.fetch_timeout_ms)))),
    });
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(state.clone());
        routes::configure(cfg);
    })
    .await
}
