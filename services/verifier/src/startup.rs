//! Wires the verifier: database, fetcher, routes.

use std::sync::Arc;
use std::time::Duration;

use akashi_chain::EthRpc;

use actix_web::web;
use akashi_db::PgPool;
use akashi_runtime::ServiceContext;

use crate::audit::{AuditLog, OwnAwards};
use crate::clients::Admission;
use crate::config::Config;
use crate::domain::cache::DocumentCache;
use crate::domain::fetch::Fetcher;
use crate::{consumers, db, routes};
use akashi_model::messages::{AdminTokenCreated, AdminTokenRevoked, BusMessage, RevocationHosted};
use akashi_net::NetPolicy;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub fetcher: Fetcher,
    pub trusted_issuers: Vec<String>,
    /// Where Ethereum anchors are looked up, if configured.
    pub ethereum: Option<Arc<EthRpc>>,
    /// API keys and rate limits.
    pub admission: Arc<Admission>,
    /// The audit trail's writer.
    pub audit: AuditLog,
}

/// Runs the verifier until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let mut fetcher = Fetcher::new(
        NetPolicy::new(&config.allow_private_hosts),
        Duration::from_millis(config.fetch_timeout_ms),
        config.max_document_bytes,
    )?;
    if config.cache_ttl_secs > 0 {
        let cache = DocumentCache::new(Duration::from_secs(config.cache_ttl_secs), config.cache_max_bytes);
        fetcher = fetcher.with_cache(cache.clone());
        // Each replica empties its own cache on every revocation Akashi announces.
        ctx.consume_per_instance(RevocationHosted::ROUTING_KEY, move |message| {
            consumers::revocation_hosted(cache.clone(), message)
        });
    }
    let admission = Arc::new(Admission::new(ctx.pool.clone(), config.anonymous_per_minute));
    let pruned = admission.clone();
    ctx.spawn(move |shutdown| async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(60)) => pruned.prune(),
            }
        }
    });
    let announce = config.verification_events.then(|| {
        let urls = &config.common.public_urls;
        (OwnAwards::new(&urls.host, &urls.display), ctx.relay.clone())
    });
    let (audit, audit_writer) = AuditLog::new(ctx.pool.clone(), announce);
    ctx.spawn(move |shutdown| audit_writer.run(shutdown));
    // Admin tokens minted by the issuer work here too.
    let pool = ctx.pool.clone();
    ctx.consume(AdminTokenCreated::ROUTING_KEY, move |m| {
        akashi_runtime::admin::consume_token_created(pool.clone(), "verifier.admin.token.created", m)
    });
    let pool = ctx.pool.clone();
    ctx.consume(AdminTokenRevoked::ROUTING_KEY, move |m| {
        akashi_runtime::admin::consume_token_revoked(pool.clone(), m)
    });
    let state = web::Data::new(AppState {
        pool: ctx.pool.clone(),
        fetcher,
        trusted_issuers: config.trusted_issuers.clone(),
        ethereum: config
            .ethereum_rpc_url
            .as_deref()
            .map(|url| Arc::new(EthRpc::new(url, Duration::from_millis(config.fetch_timeout_ms)))),
        admission: admission.clone(),
        audit,
    });
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(state.clone());
        routes::configure(cfg);
    })
    .await
}
