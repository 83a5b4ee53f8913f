//! Wires the lms-adapter: database, consumers, routes.

use actix_web::web;
use akashi_bus::Relay;
use akashi_crypto::keys::MasterKey;
use akashi_db::PgPool;
use akashi_model::messages::{
    AdminTokenCreated, AdminTokenRevoked, BadgeClassPublished, BadgeIssued, BadgeRevoked, BusMessage,
};
use akashi_runtime::ServiceContext;
use anyhow::Context;
use secrecy::ExposeSecret;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::jwks::JwksCache;
use crate::lti::keys::ToolKeys;
use crate::lti::services::TokenCache;
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
    pub http: akashi_net::PolicedClient,
    /// This service's public base URL (LTI redirect and launch URLs).
    pub public_url: String,
    /// The LTI tool's signing keys.
    pub tool_keys: Arc<ToolKeys>,
    /// LTI service access tokens.
    pub service_tokens: Arc<TokenCache>,
    /// Host's public base URL: the launch page hands learners over to their backpack.
    pub host_url: String,
}

/// Runs the lms-adapter until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let master = config
        .master_key
        .as_ref()
        .map(|k| MasterKey::from_base64(k.expose_secret()).context("master_key"))
        .transpose()?;
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    // Every outbound request (LTI registration, JWKS, AGS/NRPS, Canvas
    // reconciliation) goes to addresses an administrator typed or a platform
    // announced: the same address policy as the verifier's, and no redirects.
    let http = akashi_net::PolicedClient::new(
        akashi_net::NetPolicy::new(&config.allow_private_hosts),
        akashi_net::ClientOptions {
            timeout: Duration::from_secs(10),
            user_agent: concat!("akashi-lms-adapter/", env!("CARGO_PKG_VERSION")),
            max_redirects: 0,
        },
    )?;
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
        public_url: config.common.public_urls.lms_adapter.trim_end_matches('/').to_string(),
        tool_keys: Arc::new(ToolKeys::new(master)),
        service_tokens: Arc::new(TokenCache::default()),
        host_url: config.common.public_urls.host.trim_end_matches('/').to_string(),
    };
    {
        let mut conn = akashi_db::conn(&state.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        state
            .tool_keys
            .ensure(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("LTI tool key: {e}"))?;
    }
    let s = state.clone();
    ctx.consume(BadgeIssued::ROUTING_KEY, move |m| {
        consumers::awards::issued(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(BadgeRevoked::ROUTING_KEY, move |m| {
        consumers::awards::revoked(s.clone(), m)
    });
    if config.reconcile_interval_secs > 0 {
        tokio::spawn(crate::sync::run_loop(
            state.clone(),
            Duration::from_secs(config.reconcile_interval_secs),
        ));
    }
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
