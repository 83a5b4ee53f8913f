//! Names and declarations of the exchanges and queues.
//!
//! One durable topic exchange carries every event. Each consuming service has
//! its own durable quorum queue per routing key, so services never steal each
//! other's messages while replicas of one service compete on its queue. A
//! queue dead-letters to one dead-letter exchange and queue once a message
//! has been delivered `max_deliveries` times.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

/// Exchange and queue names under one namespace (tests use a fresh one each).
#[derive(Debug, Clone)]
pub struct Topology {
    namespace: String,
}

impl Topology {
    /// Names under `namespace` (default `akashi`).
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
        }
    }

    /// The topic exchange every event is published to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    /// The exchange messages go to once their retries are spent.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    /// The one queue holding every dead-lettered message, for operators.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letter", self.namespace)
    }

    /// The queue of `service` for `routing_key`, e.g. `akashi.issuer.issue.requested`.
    pub fn queue(&self, service: &str, routing_key: &str) -> String {
        format!("{}.{service}.{routing_key}", self.namespace)
    }

    /// Declares the exchanges and the dead-letter queue (idempotent).
    pub async fn declare_exchanges(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.events_exchange().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                self.dead_letter_exchange().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(self.dead_letter_queue().into(), durable_queue(), quorum_args(None))
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue().into(),
                self.dead_letter_exchange().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }

    /// Declares and binds the queue of `service` for `routing_key`.
    pub async fn declare_consumer_queue(
        &self,
        channel: &Channel,
        service: &str,
        routing_key: &str,
        max_deliveries: u32,
    ) -> lapin::Result<String> {
        let queue = self.queue(service, routing_key);
        let mut args = quorum_args(Some(max_deliveries));
        args.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(LongString::from(self.dead_letter_exchange())),
        );
        channel
            .queue_declare(queue.clone().into(), durable_queue(), args)
            .await?;
        self.bind_to_events(channel, &queue, routing_key).await?;
        Ok(queue)
    }

    /// Declares and binds a queue for this process alone: named after the
    /// service and routing key plus a random suffix, exclusive to the
    /// connection and deleted with it.
    pub async fn declare_instance_queue(
        &self,
        channel: &Channel,
        service: &str,
        routing_key: &str,
    ) -> lapin::Result<String> {
        let queue = format!("{}.{}", self.queue(service, routing_key), uuid::Uuid::new_v4().simple());
        let options = QueueDeclareOptions {
            durable: false,
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        };
        channel
            .queue_declare(queue.clone().into(), options, FieldTable::default())
            .await?;
        self.bind_to_events(channel, &queue, routing_key).await?;
        Ok(queue)
    }

    /// Binds `queue` to the events exchange for `routing_key`.
    async fn bind_to_events(&self, channel: &Channel, queue: &str, routing_key: &str) -> lapin::Result<()> {
        channel
            .queue_bind(
                queue.into(),
                self.events_exchange().into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

/// Quorum queues replicate across a RabbitMQ cluster and count deliveries,
/// which is what bounds retries (`x-delivery-limit`).
fn quorum_args(delivery_limit: Option<u32>) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    if let Some(limit) = delivery_limit {
        // The broker counts redeliveries, so the first delivery is not included.
        args.insert(
            ShortString::from("x-delivery-limit"),
            AMQPValue::LongInt(limit.saturating_sub(1) as i32),
        );
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced() {
        let t = Topology::new("akashi");
        assert_eq!(t.events_exchange(), "akashi.events");
        assert_eq!(t.queue("issuer", "issue.requested"), "akashi.issuer.issue.requested");
        assert_eq!(t.dead_letter_queue(), "akashi.dead-letter");
    }
}
