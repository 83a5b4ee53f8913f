//! Wires the issuer: database, consumers, routes.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use akashi_bus::Relay;
use akashi_crypto::keys::MasterKey;
use akashi_db::PgPool;
use akashi_model::messages::{BusMessage, EventObserved, IssueRequested};
use akashi_runtime::ServiceContext;
use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::batcher::Batcher;
use crate::config::{Config, WebhooksConfig};
use crate::domain::documents::PublicLinks;
use crate::domain::keyring::Keyring;
use crate::subscriptions::{self, delivery::Deliverer};
use crate::{consumers, db, keys, routes};

/// What handlers and consumers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub relay: Relay,
    pub links: PublicLinks,
    pub keyring: Arc<Keyring>,
    /// Wakes the Blockcerts batcher when a certificate is queued.
    pub batcher_wake: Arc<Notify>,
    /// Wakes the webhook deliverer when an event was recorded.
    pub webhooks_wake: Arc<Notify>,
    /// Where events may be sent (checked when a subscription is made).
    pub webhooks: Arc<WebhooksConfig>,
}

/// Runs the issuer until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let master = config
        .master_key
        .as_ref()
        .context("master_key is required (AKASHI_ISSUER_MASTER_KEY: base64 of 32 random bytes, e.g. `head -c 32 /dev/urandom | base64`)")
        .and_then(|k| MasterKey::from_base64(k.expose_secret()).context("master_key"))?;
    config.blockcerts.check().context("blockcerts settings")?;
    let mut ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let urls = &config.common.public_urls;
    let state = AppState {
        pool: ctx.pool.clone(),
        relay: ctx.relay.clone(),
        links: PublicLinks::new(&urls.issuer, &urls.host, &urls.display, &urls.verifier),
        keyring: Arc::new(Keyring::new(master)),
        batcher_wake: Arc::new(Notify::new()),
        webhooks_wake: Arc::new(Notify::new()),
        webhooks: Arc::new(config.webhooks.clone()),
    };
    keys::ensure_active_keys(&state).await?;
    let batcher = Batcher::new(state.clone(), config.blockcerts.clone());
    ctx.spawn(move |shutdown| batcher.run(shutdown));
    let deliverer = Deliverer::new(
        state.pool.clone(),
        state.keyring.clone(),
        config.webhooks.clone(),
        state.webhooks_wake.clone(),
    )?;
    ctx.spawn(move |shutdown| deliverer.run(shutdown));
    let (expiry_state, every) = (
        state.clone(),
        Duration::from_secs(config.webhooks.expiry_scan_secs.max(1)),
    );
    let wake = state.webhooks_wake.clone();
    ctx.spawn(move |shutdown| subscriptions::expiry::run(expiry_state, every, wake, shutdown));
    let consumer_state = state.clone();
    ctx.consume(IssueRequested::ROUTING_KEY, move |message| {
        consumers::issue_requested::handle(consumer_state.clone(), message)
    });
    let consumer_state = state.clone();
    ctx.consume(EventObserved::ROUTING_KEY, move |message| {
        consumers::event_observed::handle(consumer_state.clone(), message)
    });
    // Dead letters of every service are kept in the issuer's database.
    let bus = ctx.bus.clone();
    let pool = state.pool.clone();
    ctx.spawn(move |shutdown| {
        akashi_bus::dead_letters::drain(
            bus,
            move |letter| consumers::dead_letters::store(pool.clone(), letter),
            shutdown,
        )
    });
    let data = web::Data::new(state);
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(data.clone());
        routes::configure(cfg);
    })
    .await
}
