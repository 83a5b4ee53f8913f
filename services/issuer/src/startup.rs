//! Wires the issuer: database, consumers, routes.

use actix_web::web;
use akashi_bus::Relay;
use akashi_db::PgPool;
use akashi_model::messages::{BusMessage, IssueRequested};
use akashi_runtime::ServiceContext;

use crate::config::Config;
use crate::domain::documents::PublicLinks;
use crate::{consumers, db, routes};

/// What handlers and consumers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub relay: Relay,
    pub links: PublicLinks,
}

/// Runs the issuer until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let ctx = ServiceContext::start(crate::SERVICE, config.common.clone(), vec![&db::MIGRATIONS]).await?;
    let urls = &config.common.public_urls;
    let state = AppState {
        pool: ctx.pool.clone(),
        relay: ctx.relay.clone(),
        links: PublicLinks::new(&urls.host, &urls.display, &urls.verifier),
    };
    let consumer_state = state.clone();
    ctx.consume(IssueRequested::ROUTING_KEY, move |message| {
        consumers::issue_requested::handle(consumer_state.clone(), message)
    });
    let data = web::Data::new(state);
    ctx.serve(routes::openapi(), move |cfg| {
        cfg.app_data(data.clone());
        routes::configure(cfg);
    })
    .await
}
