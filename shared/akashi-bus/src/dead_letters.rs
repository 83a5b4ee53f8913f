//! The dead-letter queue, drained into a service's database so operators
//! can inspect and replay messages from the admin API and console.
//!
//! AMQP has no way to look at a queued message without taking it, and a
//! quorum queue counts every look as a delivery; so one service (the
//! issuer) takes each dead letter once, hands it to a store function, and
//! acks it only when stored. Replaying re-publishes the same envelope (same
//! id) under its routing key: consumers that handled it already skip it
//! through their inboxes, the one that failed gets it again.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::connection::{Bus, BusError};

/// One dead-lettered message, as taken off the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The envelope's id, when the body is an envelope.
    pub message_id: Option<Uuid>,
    /// The routing key it was first published with (its message type).
    pub routing_key: String,
    /// The queue it died in, and why (`rejected`, `delivery_limit`, `expired`).
    pub queue: Option<String>,
    pub reason: Option<String>,
    /// How many times it has died in that queue.
    pub deaths: i64,
    pub body: String,
}

/// Reads the broker's `x-death` header (the first entry is the latest death).
pub fn from_delivery(routing_key: &str, headers: Option<&FieldTable>, body: &[u8]) -> DeadLetter {
    let first_death = headers
        .and_then(|h| h.inner().get("x-death"))
        .and_then(|v| match v {
            AMQPValue::FieldArray(a) => a.as_slice().first().cloned(),
            _ => None,
        })
        .and_then(|v| match v {
            AMQPValue::FieldTable(t) => Some(t),
            _ => None,
        });
    let text = |t: &FieldTable, key: &str| match t.inner().get(key) {
        Some(AMQPValue::LongString(s)) => Some(s.to_string()),
        Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
        _ => None,
    };
    let original_key = first_death
        .as_ref()
        .and_then(|t| match t.inner().get("routing-keys") {
            Some(AMQPValue::FieldArray(keys)) => keys.as_slice().first().and_then(|k| match k {
                AMQPValue::LongString(s) => Some(s.to_string()),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or_else(|| routing_key.to_string());
    let deaths = first_death
        .as_ref()
        .and_then(|t| match t.inner().get("count") {
            Some(AMQPValue::LongLongInt(n)) => Some(*n),
            Some(AMQPValue::LongInt(n)) => Some(i64::from(*n)),
            _ => None,
        })
        .unwrap_or(1);
    let body = String::from_utf8_lossy(body).into_owned();
    let message_id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().and_then(|s| s.parse().ok()));
    DeadLetter {
        message_id,
        routing_key: original_key,
        queue: first_death.as_ref().and_then(|t| text(t, "queue")),
        reason: first_death.as_ref().and_then(|t| text(t, "reason")),
        deaths,
        body,
    }
}

/// Takes every dead letter off the queue and stores it with `store`
/// (acked once stored; on a store error it goes back and is tried again).
pub async fn drain<F, Fut>(bus: Arc<Bus>, store: F, shutdown: CancellationToken)
where
    F: Fn(DeadLetter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match drain_once(&bus, &store, &shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "dead-letter drain lost the broker; reconnecting");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn drain_once<F, Fut>(bus: &Arc<Bus>, store: &F, shutdown: &CancellationToken) -> Result<(), BusError>
where
    F: Fn(DeadLetter) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let channel = bus.open_channel().await?;
    channel.basic_qos(10, BasicQosOptions::default()).await?;
    bus.topology().declare_exchanges(&channel).await?;
    let queue = bus.topology().dead_letter_queue();
    let mut stream = channel
        .basic_consume(
            queue.clone().into(),
            format!("{}-dead-letters-{}", bus.service(), Uuid::new_v4()).into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(%queue, "draining dead letters");
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = stream.next() => match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Err(BusError::Amqp(e)),
                None => return Err(BusError::ConsumerEnded),
            }
        };
        let letter = from_delivery(
            delivery.routing_key.as_str(),
            delivery.properties.headers().as_ref(),
            &delivery.data,
        );
        match store(letter).await {
            Ok(()) => {
                metrics::counter!("akashi_bus_dead_letters_total").increment(1);
                delivery.acker.ack(BasicAckOptions::default()).await?;
            }
            Err(e) => {
                tracing::warn!(error = %e, "a dead letter could not be stored; it stays queued");
                tokio::time::sleep(Duration::from_secs(1)).await;
                delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString, ShortString};

    #[test]
    fn the_x_death_header_names_the_queue_reason_and_first_routing_key() {
        let mut death = FieldTable::default();
        death.insert(
            ShortString::from("queue"),
            AMQPValue::LongString(LongString::from("akashi.issuer.issue.requested")),
        );
        death.insert(
            ShortString::from("reason"),
            AMQPValue::LongString(LongString::from("rejected")),
        );
        death.insert(ShortString::from("count"), AMQPValue::LongLongInt(2));
        death.insert(
            ShortString::from("routing-keys"),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::LongString(LongString::from(
                "issue.requested",
            ))])),
        );
        let mut headers = FieldTable::default();
        headers.insert(
            ShortString::from("x-death"),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        let id = Uuid::now_v7();
        let body = format!(r#"{{"id":"{id}","type":"issue.requested"}}"#);
        let letter = from_delivery("ignored", Some(&headers), body.as_bytes());
        assert_eq!(letter.routing_key, "issue.requested");
        assert_eq!(letter.queue.as_deref(), Some("akashi.issuer.issue.requested"));
        assert_eq!(letter.reason.as_deref(), Some("rejected"));
        assert_eq!(letter.deaths, 2);
        assert_eq!(letter.message_id, Some(id));
        let bare = from_delivery("badge.issued", None, b"not json");
        assert_eq!(
            (bare.routing_key.as_str(), bare.message_id, bare.deaths),
            ("badge.issued", None, 1)
        );
    }
}
