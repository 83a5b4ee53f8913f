//! Wires the lms-adapter: database, consumers, routes.

use actix_web::web;
use akashi_bus::Relay;
use akashi_db::PgPool;
use akashi_model::messages::{AdminTokenCreated, AdminTokenRevoked, BadgeClassPublished, BusMessage};
use akashi_runtime::ServiceContext;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::jwks::JwksCache;
use crate::{consumers, db, routes};

/// What handlers and consumers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub relay: Relay,
    pub signature_tolerance_secs: i64,
    /// Platforms' public keys (LTI platforms, Canvas).
    pub jwks: Arc<JwksCache>,
    /// Outgoing HTTP (JWKS, LTI services, Canvas's API).
    pub http: reqwest::Client,
}

/// Runs the lms-adapter until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("akashi-lms-adapter/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let state = AppState {
        pool: ctx.pool.clone(),
        relay: ctx.relay.clone(),
        signature_tolerance_secs: config.signature_tolerance_secs,
        jwks: Arc::new(JwksCache::new(
            http.clone(),
            Duration::from_secs(config.jwks_cache_secs),
            Duration::from_millis(config.jwks_min_refetch_ms),
        )),
        http,
    };
    let s = state.clone();
    ctx.consume(BadgeClassPublished::ROUTING_KEY, move |m| {
        consumers::badge_class_published::handle(s.clone(), m)
    });
    let pool = ctx.pool.clone();
    ctx.consume(AdminTokenCreated::ROUTING_KEY, move |m| {
        akashi_runtime::admin::consume_token_created(pool.clone(), CONSUMER_TOKENS_CREATED, m)
    });
    let pool = ctx.pool.clone();
    ctx.consume(AdminTokenRevoked::ROUTING_KEY, move |m| {
        akashi_runtime::admin::consume_token_revoked(pool.clone(), m)
    });
    let data = web::Data::new(state);
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(data.clone());
        routes::configure(cfg);
    })
    .await
}

const CONSUMER_TOKENS_CREATED: &str = "lms-adapter.admin.token.created";
