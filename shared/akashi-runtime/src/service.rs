//! The lifecycle every service shares, so that each `startup.rs` only says
//! what is particular to it: its migrations, consumers and routes.
//!
//! Start: telemetry → metrics recorder → database (created, migrated) → bus
//! handle → outbox relay. Stop (SIGTERM/SIGINT): stop accepting HTTP and
//! finish in-flight requests, stop consuming and finish in-flight messages,
//! make a last outbox round, close the broker connection.

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use akashi_bus::consumer::{self, ConsumerSpec, HandlerError, IncomingMessage};
use akashi_bus::{Bus, Relay};
use akashi_db::PgPool;

use crate::admin::{self, AdminAuth};
use crate::config::CommonConfig;
use crate::error::{ApiError, json_config, path_config, query_config};
use crate::http::{Ops, configure_ops, observe};
use crate::telemetry;

/// Largest JSON body any endpoint accepts unless it says otherwise.
pub const DEFAULT_JSON_LIMIT: usize = 256 * 1024;
/// How long a stopping service waits for in-flight work.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A running service's shared parts.
pub struct ServiceContext {
    pub name: &'static str,
    pub config: CommonConfig,
    pub pool: PgPool,
    pub bus: Arc<Bus>,
    pub relay: Relay,
    pub shutdown: CancellationToken,
    tasks: TaskTracker,
    metrics: PrometheusHandle,
    consumers: Vec<ConsumerSpec>,
    readiness: Vec<crate::http::ReadinessCheck>,
}

impl ServiceContext {
    /// Prepares the database (the bus and admin tables first, then
    /// `migrations`), the broker handle and the outbox relay.
    pub async fn start(
        name: &'static str,
        config: CommonConfig,
        migrations: Vec<akashi_db::Migrations>,
    ) -> anyhow::Result<Self> {
        telemetry::init(name, &config.log_format);
        let metrics = PrometheusBuilder::new()
            .install_recorder()
            .context("installing the metrics recorder")?;
        let mut sources = vec![&akashi_bus::MIGRATIONS, &admin::MIGRATIONS];
        sources.extend(migrations);
        let pool = prepare_database(&config, sources).await?;
        let bus = Bus::new(name, (&config.amqp).into());
        let relay = Relay::new(pool.clone(), bus.clone());
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        tasks.spawn(relay.clone().run(shutdown.clone()));
        Ok(Self {
            name,
            config,
            pool,
            bus,
            relay,
            shutdown,
            tasks,
            metrics,
            consumers: Vec::new(),
            readiness: Vec::new(),
        })
    }

    /// Starts a consumer of `routing_key` for this service.
    pub fn consume<F, Fut>(&mut self, routing_key: &'static str, handler: F)
    where
        F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let spec = ConsumerSpec::new(routing_key);
        self.consumers.push(spec.clone());
        self.tasks
            .spawn(consumer::run(self.bus.clone(), spec, handler, self.shutdown.clone()));
    }

    /// Starts a consumer of `routing_key` on a queue of this process's own
    /// (every replica gets every message; see [`ConsumerSpec::per_instance`]).
    pub fn consume_per_instance<F, Fut>(&mut self, routing_key: &'static str, handler: F)
    where
        F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let spec = ConsumerSpec::per_instance(routing_key);
        self.consumers.push(spec.clone());
        self.tasks
            .spawn(consumer::run(self.bus.clone(), spec, handler, self.shutdown.clone()));
    }

    /// Adds a check of something this service needs besides its database
    /// and broker (a font, a file) to `/readyz`: `check` answers why it is
    /// not ready, in words for an operator (no paths).
    pub fn add_readiness_check(
        &mut self,
        name: &'static str,
        check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.readiness.push(crate::http::ReadinessCheck {
            name,
            check: Arc::new(check),
        });
    }

    /// Runs a background task of this service: it gets the stop signal and
    /// is waited for while the service drains.
    pub fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(self.shutdown.clone()));
    }

    /// Runs the HTTP server with the operational endpoints, the admin
    /// authenticator and `configure`'s routes until a stop signal, then drains.
    pub async fn serve<F>(self, openapi: serde_json::Value, configure: F) -> anyhow::Result<()>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let ops = Ops {
            service: self.name,
            pool: self.pool.clone(),
            bus: self.bus.clone(),
            metrics: self.metrics.clone(),
            openapi: Arc::new(openapi),
            metrics_token: self.config.metrics_token.clone(),
            consumers: Arc::new(self.consumers.clone()),
            readiness: Arc::new(self.readiness.clone()),
        };
        let auth = web::Data::new(AdminAuth::new(self.config.admin_token.clone(), self.pool.clone()));
        let server = HttpServer::new(move || {
            let ops = ops.clone();
            App::new()
                .wrap(from_fn(crate::http::errors_for_browsers))
                .wrap(from_fn(observe))
                .wrap(from_fn(crate::http::head_as_get))
                .app_data(json_config(DEFAULT_JSON_LIMIT))
                .app_data(query_config())
                .app_data(path_config())
                .app_data(auth.clone())
                .configure(|c| configure_ops(c, ops))
                .configure(configure.clone())
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound("no such path".into()))
                }))
        })
        .disable_signals()
        .shutdown_timeout(DRAIN_TIMEOUT.as_secs())
        .bind((self.config.bind.as_str(), self.config.port))
        .with_context(|| format!("binding {}:{}", self.config.bind, self.config.port))?
        .run();
        tracing::info!(service = self.name, bind = %self.config.bind, port = self.config.port, "listening");
        let handle = server.handle();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop_signal() => tracing::info!("stop signal received; draining"),
                _ = shutdown.cancelled() => {}
            }
            shutdown.cancel();
            handle.stop(true).await;
        });
        server.await.context("HTTP server")?;
        tracing::info!("HTTP server stopped");
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.tasks.wait()).await.is_err() {
            tracing::warn!("in-flight work did not finish within the drain timeout");
        }
        tracing::info!("background work drained");
        self.bus.close().await;
        tracing::info!(service = self.name, "stopped");
        Ok(())
    }
}

/// The database may still be starting when the service does: retry for a while.
async fn prepare_database(config: &CommonConfig, sources: Vec<akashi_db::Migrations>) -> anyhow::Result<PgPool> {
    let mut attempt = 0;
    loop {
        match akashi_db::prepare(&config.database_url, sources.clone(), config.db_pool_size).await {
            Ok(pool) => return Ok(pool),
            Err(e @ akashi_db::DbError::Connect(_)) if attempt < 30 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "database not reachable yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("preparing the database"),
        }
    }
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
