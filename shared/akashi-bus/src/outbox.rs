//! The transactional outbox and its relay.
//!
//! [`enqueue`] writes a message in the caller's transaction, beside the state
//! change it announces; either both commit or neither does. The [`Relay`]
//! publishes pending rows with publisher confirms and marks them sent. A
//! crash between publishing and marking re-publishes the same message id,
//! which consumers' inboxes recognise: at-least-once on the wire,
//! exactly-once in effect.

use std::sync::Arc;
use std::time::Duration;

use akashi_db::PgPool;
use akashi_model::messages::BusMessage;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::connection::{Bus, BusError, OutgoingMessage};
use crate::envelope::Envelope;
use crate::schema::{bus_inbox, bus_outbox};

/// Failures while enqueuing or relaying.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] akashi_db::DbError),
    #[error("broker: {0}")]
    Bus(#[from] BusError),
    #[error("message could not be serialised: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Adds `envelope` to the outbox within the caller's open transaction.
pub async fn enqueue<M: BusMessage>(conn: &mut AsyncPgConnection, envelope: &Envelope<M>) -> Result<(), OutboxError> {
    let body = serde_json::to_string(envelope)?;
    diesel::insert_into(bus_outbox::table)
        .values((
            bus_outbox::id.eq(envelope.id),
            bus_outbox::routing_key.eq(M::ROUTING_KEY),
            bus_outbox::body.eq(body),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds an already-serialised message (a dead letter being replayed) to
/// the outbox under `routing_key`, with a fresh outbox row id: the body
/// keeps its envelope id, which is what consumers' inboxes recognise.
pub async fn enqueue_raw(conn: &mut AsyncPgConnection, routing_key: &str, body: &str) -> Result<(), OutboxError> {
    diesel::insert_into(bus_outbox::table)
        .values((
            bus_outbox::id.eq(Uuid::now_v7()),
            bus_outbox::routing_key.eq(routing_key),
            bus_outbox::body.eq(body),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Rows fetched per relay round.
const BATCH: i64 = 200;
/// How long the relay sleeps with nothing to do, if nobody wakes it.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// How long published outbox rows and inbox entries are kept.
const RETENTION_DAYS: i64 = 7;

/// Publishes the outbox of one service's database.
#[derive(Clone)]
pub struct Relay {
    pool: PgPool,
    bus: Arc<Bus>,
    wake: Arc<Notify>,
}

impl Relay {
    /// A relay over `pool`'s outbox, publishing through `bus`.
    pub fn new(pool: PgPool, bus: Arc<Bus>) -> Self {
        Self {
            pool,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Wakes the relay at once; call after committing an enqueued message so
    /// that it leaves within milliseconds rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Publishes one batch of pending messages; answers how many were confirmed.
    pub async fn relay_once(&self) -> Result<usize, OutboxError> {
        let mut conn = akashi_db::conn(&self.pool).await?;
        let bus = self.bus.clone();
        conn.transaction::<_, OutboxError, _>(async |conn| {
            // SKIP LOCKED lets replicas of a service share one outbox.
            let rows: Vec<(Uuid, String, String)> = bus_outbox::table
                .select((bus_outbox::id, bus_outbox::routing_key, bus_outbox::body))
                .filter(bus_outbox::published_at.is_null())
                // Messages that keep failing (e.g. unroutable) go after fresh ones.
                .order((bus_outbox::attempts, bus_outbox::created_at))
                .limit(BATCH)
                .for_update()
                .skip_locked()
                .load(conn)
                .await?;
            if rows.is_empty() {
                return Ok(0);
            }
            let messages: Vec<OutgoingMessage> = rows
                .into_iter()
                .map(|(id, routing_key, body)| OutgoingMessage {
                    id,
                    routing_key,
                    body: body.into_bytes(),
                })
                .collect();
            let outcome = bus.publish_batch(&messages).await;
            let acked = match outcome {
                Ok(acked) => acked,
                Err(e) => {
                    // Count the attempt, keep the rows pending, and let the caller back off.
                    let ids: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
                    diesel::update(bus_outbox::table.filter(bus_outbox::id.eq_any(&ids)))
                        .set((
                            bus_outbox::attempts.eq(bus_outbox::attempts + 1),
                            bus_outbox::last_error.eq(e.to_string()),
                        ))
                        .execute(conn)
                        .await?;
                    // Committing the attempt count keeps the rows pending for the next round.
                    tracing::warn!(error = %e, pending = ids.len(), "outbox relay could not publish; will retry");
                    return Ok(0);
                }
            };
            let confirmed: Vec<Uuid> = messages
                .iter()
                .zip(&acked)
                .filter(|(_, ok)| **ok)
                .map(|(m, _)| m.id)
                .collect();
            diesel::update(bus_outbox::table.filter(bus_outbox::id.eq_any(&confirmed)))
                .set(bus_outbox::published_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
            let refused: Vec<Uuid> = messages
                .iter()
                .zip(&acked)
                .filter(|(_, ok)| !**ok)
                .map(|(m, _)| m.id)
                .collect();
            if !refused.is_empty() {
                diesel::update(bus_outbox::table.filter(bus_outbox::id.eq_any(&refused)))
                    .set((
                        bus_outbox::attempts.eq(bus_outbox::attempts + 1),
                        bus_outbox::last_error.eq("nacked or unroutable"),
                    ))
                    .execute(conn)
                    .await?;
                tracing::warn!(
                    refused = refused.len(),
                    "broker refused or could not route outbox messages; they stay pending"
                );
            }
            Ok(confirmed.len())
        })
        .await
    }

    /// Number of messages not yet published (a gauge for `/metrics`).
    pub async fn pending(&self) -> Result<i64, OutboxError> {
        let mut conn = akashi_db::conn(&self.pool).await?;
        Ok(bus_outbox::table
            .filter(bus_outbox::published_at.is_null())
            .count()
            .get_result(&mut conn)
            .await?)
    }

    async fn prune(&self) -> Result<(), OutboxError> {
        let mut conn = akashi_db::conn(&self.pool).await?;
        let cutoff = chrono::Utc::now() - chrono::Duration::days(RETENTION_DAYS);
        diesel::delete(bus_outbox::table.filter(bus_outbox::published_at.lt(cutoff)))
            .execute(&mut conn)
            .await?;
        // Redeliveries come within minutes; a week of inbox is a wide margin.
        diesel::delete(bus_inbox::table.filter(bus_inbox::processed_at.lt(cutoff)))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// Runs until `shutdown`, then makes one last round and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff_exponent: u32 = 0;
        let mut rounds: u64 = 0;
        loop {
            let published = self.relay_once().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "outbox relay round failed");
                0
            });
            let pending = self.pending().await.unwrap_or(0);
            metrics::gauge!("akashi_outbox_pending", "service" => self.bus.service().to_string()).set(pending as f64);
            // Pending rows that did not go out mean the broker is away: back off.
            let stuck = published == 0 && pending > 0;
            backoff_exponent = if stuck { (backoff_exponent + 1).min(7) } else { 0 };
            rounds += 1;
            if rounds.is_multiple_of(1200)
                && let Err(e) = self.prune().await
            {
                tracing::warn!(error = %e, "outbox pruning failed");
            }
            if shutdown.is_cancelled() {
                return;
            }
            if published > 0 {
                continue; // more may be waiting
            }
            let wait = if stuck {
                Duration::from_millis(100u64 << backoff_exponent)
            } else {
                IDLE_POLL
            };
            tokio::select! {
                _ = shutdown.cancelled() => {
                    // So that what was committed just before shutdown still leaves.
                    let _ = self.relay_once().await;
                    return;
                }
                _ = self.wake.notified(), if !stuck => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
