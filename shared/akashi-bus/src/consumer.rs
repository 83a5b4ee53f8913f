//! Consumers: one loop per (service, routing key) that survives broker
//! restarts, processes up to `prefetch` messages at once, and acks a message
//! only after its handler (which commits the service's own transaction)
//! succeeded.
//!
//! A handler answers [`HandlerError::Transient`] for what may pass (a
//! database hiccup): the message is requeued after a back-off, and
//! dead-lettered once it has been delivered `max_deliveries` times.
//! [`HandlerError::Permanent`] (a malformed payload) dead-letters at once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::connection::{Bus, BusError};
use crate::envelope::Envelope;

/// What went wrong in a handler, and so what happens to the message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retry later (with back-off), then dead-letter.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help: dead-letter now.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl HandlerError {
    /// A transient error from anything displayable.
    pub fn transient(e: impl std::fmt::Display) -> Self {
        Self::Transient(e.to_string())
    }
    /// A permanent error from anything displayable.
    pub fn permanent(e: impl std::fmt::Display) -> Self {
        Self::Permanent(e.to_string())
    }
}

/// A database error while handling is presumed to pass (a restart, a deadlock).
impl From<diesel::result::Error> for HandlerError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Transient(format!("database: {e}"))
    }
}

/// A delivered message, envelope parsed, payload still raw.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub envelope: Envelope<serde_json::Value>,
    pub routing_key: String,
    /// 1 on first delivery, then counted up by the broker.
    pub delivery_count: u32,
}

impl IncomingMessage {
    /// The payload as `T`; a payload that does not parse is permanent.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        serde_json::from_value(self.envelope.data.clone())
            .map_err(|e| HandlerError::permanent(format!("payload of {} does not parse: {e}", self.routing_key)))
    }
}

/// Which messages a consumer takes, and where it reports whether it is
/// consuming right now (for `/readyz`).
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub routing_key: &'static str,
    pub consuming: Arc<AtomicBool>,
    /// Every replica gets every message (on a queue of its own that lives
    /// as long as its connection), instead of replicas sharing one durable
    /// queue. For notices each process must act on, such as invalidating
    /// its own cache; a missed notice must be harmless.
    pub per_instance: bool,
}

impl ConsumerSpec {
    /// A consumer of `routing_key`, not consuming yet.
    pub fn new(routing_key: &'static str) -> Self {
        Self {
            routing_key,
            consuming: Arc::new(AtomicBool::new(false)),
            per_instance: false,
        }
    }

    /// A consumer of `routing_key` on a queue of this process's own.
    pub fn per_instance(routing_key: &'static str) -> Self {
        Self {
            per_instance: true,
            ..Self::new(routing_key)
        }
    }
}

/// Environment variable naming a routing key after whose successful handling
/// (transaction committed, ack not yet sent) the process aborts. It exists
/// only so that tests can prove a crash there neither loses nor doubles.
pub const CRASH_BEFORE_ACK_ENV: &str = "AKASHI_TEST_CRASH_BEFORE_ACK";

fn delivery_count(headers: Option<&FieldTable>) -> u32 {
    let Some(value) = headers.and_then(|h| h.inner().get("x-delivery-count")) else {
        return 1;
    };
    let redeliveries = match value {
        AMQPValue::LongLongInt(n) => *n,
        AMQPValue::LongInt(n) => i64::from(*n),
        AMQPValue::LongUInt(n) => i64::from(*n),
        AMQPValue::ShortInt(n) => i64::from(*n),
        AMQPValue::ShortUInt(n) => i64::from(*n),
        _ => 0,
    };
    u32::try_from(redeliveries.max(0)).unwrap_or(u32::MAX).saturating_add(1)
}

/// Delay before requeueing a message that failed on delivery `count`.
pub fn retry_delay(base_ms: u64, count: u32) -> Duration {
    let factor = 1u64 << count.saturating_sub(1).min(10);
    Duration::from_millis(base_ms.saturating_mul(factor).min(30_000))
}

/// Consumes `spec.routing_key` for the bus's service until `shutdown`, then
/// stops taking messages, finishes those in flight, and returns.
pub async fn run<F, Fut>(bus: Arc<Bus>, spec: ConsumerSpec, handler: F, shutdown: CancellationToken)
where
    F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(&bus, &spec, handler.clone(), &shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, routing_key = spec.routing_key, retry_in_ms = backoff.as_millis() as u64, "consumer lost the broker; reconnecting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn consume<F, Fut>(
    bus: &Arc<Bus>,
    spec: &ConsumerSpec,
    handler: Arc<F>,
    shutdown: &CancellationToken,
) -> Result<(), BusError>
where
    F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let config = bus.config().clone();
    let channel = bus.open_channel().await?;
    channel.basic_qos(config.prefetch, BasicQosOptions::default()).await?;
    let queue = if spec.per_instance {
        bus.topology()
            .declare_instance_queue(&channel, bus.service(), spec.routing_key)
            .await?
    } else {
        bus.topology()
            .declare_consumer_queue(&channel, bus.service(), spec.routing_key, config.max_deliveries)
            .await?
    };
    let tag = format!("{}-{}", bus.service(), uuid::Uuid::new_v4());
    let mut stream = channel
        .basic_consume(
            queue.clone().into(),
            tag.clone().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(%queue, "consuming");
    spec.consuming.store(true, Ordering::SeqCst);
    let in_flight = TaskTracker::new();
    let outcome = loop {
        tokio::select! {
            _ = shutdown.cancelled() => {
                // Stop taking new messages; unacked prefetched ones go back to the queue.
                let _ = channel.basic_cancel(tag.clone().into(), BasicCancelOptions::default()).await;
                break Ok(());
            }
            next = stream.next() => match next {
                Some(Ok(delivery)) => {
                    in_flight.spawn(process(delivery, handler.clone(), config.max_deliveries, config.retry_base_ms, bus.service().to_string()));
                }
                Some(Err(e)) => break Err(BusError::Amqp(e)),
                None => break Err(BusError::ConsumerEnded),
            }
        }
    };
    spec.consuming.store(false, Ordering::SeqCst);
    in_flight.close();
    in_flight.wait().await;
    if outcome.is_ok() {
        let _ = channel.close(200, "shutdown".into()).await;
    }
    outcome
}

async fn process<F, Fut>(delivery: Delivery, handler: Arc<F>, max_deliveries: u32, retry_base_ms: u64, service: String)
where
    F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let routing_key = delivery.routing_key.to_string();
    let count = delivery_count(delivery.properties.headers().as_ref());
    let parsed: Result<Envelope<serde_json::Value>, _> = serde_json::from_slice(&delivery.data);
    let (span, result) = match parsed {
        Ok(envelope) => {
            let span = tracing::info_span!(
                "message",
                message_id = %envelope.id,
                correlation_id = envelope.correlationid.as_deref().unwrap_or(""),
                routing_key = %routing_key,
                delivery = count,
            );
            let message = IncomingMessage {
                envelope,
                routing_key: routing_key.clone(),
                delivery_count: count,
            };
            // A panicking handler must not leave its message unacked for as
            // long as the channel lives: it counts as a transient failure.
            let result = AssertUnwindSafe(handler(message))
                .catch_unwind()
                .instrument(span.clone())
                .await
                .unwrap_or_else(|_| Err(HandlerError::transient("the handler panicked")));
            (span, result)
        }
        Err(e) => (
            tracing::info_span!("message", routing_key = %routing_key, delivery = count),
            Err(HandlerError::permanent(format!("not a CloudEvents JSON envelope: {e}"))),
        ),
    };
    let outcome = match &result {
        Ok(()) => "ok",
        Err(HandlerError::Transient(_)) => "retry",
        Err(HandlerError::Permanent(_)) => "dead-letter",
    };
    metrics::counter!("akashi_bus_consumed_total", "service" => service, "routing_key" => routing_key.clone(), "outcome" => outcome).increment(1);
    // The span is attached to the future, never entered across an await: an
    // entered guard held over an await point corrupts the span registry
    // when the task resumes on another thread.
    settle(delivery, result, count, max_deliveries, retry_base_ms, routing_key)
        .instrument(span)
        .await;
}

/// Acks, requeues after a back-off, or dead-letters one delivery.
async fn settle(
    delivery: Delivery,
    result: Result<(), HandlerError>,
    count: u32,
    max_deliveries: u32,
    retry_base_ms: u64,
    routing_key: String,
) {
    match result {
        Ok(()) => {
            if std::env::var(CRASH_BEFORE_ACK_ENV).is_ok_and(|k| k == routing_key) {
                tracing::error!("{CRASH_BEFORE_ACK_ENV} is set: aborting after commit, before ack");
                std::process::abort();
            }
            if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                // The broker will redeliver; the inbox makes that harmless.
                tracing::warn!(error = %e, "ack failed; message will be redelivered");
            } else {
                tracing::debug!("handled");
            }
        }
        Err(HandlerError::Transient(reason)) if count < max_deliveries => {
            let delay = retry_delay(retry_base_ms, count);
            tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "handler failed; will retry");
            tokio::time::sleep(delay).await;
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "dead-lettering message");
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::ShortString;

    #[test]
    fn delivery_count_reads_the_broker_header() {
        assert_eq!(delivery_count(None), 1);
        let mut h = FieldTable::default();
        h.insert(ShortString::from("x-delivery-count"), AMQPValue::LongLongInt(2));
        assert_eq!(delivery_count(Some(&h)), 3);
    }

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        assert_eq!(retry_delay(200, 1), Duration::from_millis(200));
        assert_eq!(retry_delay(200, 2), Duration::from_millis(400));
        assert_eq!(retry_delay(200, 4), Duration::from_millis(1600));
        assert_eq!(retry_delay(200, 40), Duration::from_secs(30));
    }
}
