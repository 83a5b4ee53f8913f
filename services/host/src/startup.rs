//! Wires host: database, consumers, routes.

use actix_web::web;
use akashi_db::PgPool;
use akashi_model::messages::{
    BadgeClassPublished, BadgeIssued, BadgeRevoked, BlockcertsIssued, BusMessage, IssuerPublished, StatusListPublished,
};
use akashi_runtime::ServiceContext;

use crate::config::Config;
use crate::{consumers, db, routes};

/// What handlers and consumers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Where an HTML request for an assertion is sent (display's badge page).
    pub display_base: String,
    /// Host's own public base URL (sign-in links, the OB 3.0 API's URLs).
    pub public_base: String,
    /// Wakes the outbox relay (sign-in mail requests).
    pub relay: akashi_bus::Relay,
    /// The lms-adapter's public base URL (its LTI key signs hand-offs).
    pub lms_adapter_base: String,
    /// Outgoing HTTP (the lms-adapter's JWKS, the verifier).
    pub http: reqwest::Client,
    /// How host reaches the verifier (imports), and the key it calls with.
    pub verifier_base: String,
    pub verifier_api_key: Option<secrecy::SecretString>,
}

/// Runs host until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let state = AppState {
        pool: ctx.pool.clone(),
        display_base: config.common.public_urls.display.trim_end_matches('/').to_string(),
        public_base: config.common.public_urls.host.trim_end_matches('/').to_string(),
        relay: ctx.relay.clone(),
        lms_adapter_base: config.common.public_urls.lms_adapter.trim_end_matches('/').to_string(),
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()?,
        verifier_base: config
            .verifier_internal_url
            .clone()
            .unwrap_or_else(|| config.common.public_urls.verifier.clone())
            .trim_end_matches('/')
            .to_string(),
        verifier_api_key: config.verifier_api_key.clone(),
    };
    let s = state.clone();
    ctx.consume(IssuerPublished::ROUTING_KEY, move |m| {
        consumers::issuer_published(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(BadgeClassPublished::ROUTING_KEY, move |m| {
        consumers::badge_class_published(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(BadgeIssued::ROUTING_KEY, move |m| consumers::badge_issued(s.clone(), m));
    let s = state.clone();
    ctx.consume(BlockcertsIssued::ROUTING_KEY, move |m| {
        consumers::blockcerts_issued(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(BadgeRevoked::ROUTING_KEY, move |m| {
        consumers::badge_revoked(s.clone(), m)
    });
    let s = state.clone();
    ctx.consume(StatusListPublished::ROUTING_KEY, move |m| {
        consumers::status_list_published(s.clone(), m)
    });
    let data = web::Data::new(state);
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(data.clone());
        routes::configure(cfg);
    })
    .await
}
