//! The connection to RabbitMQ: lazily (re)established, with a confirming
//! publish channel, shared by a service's publishers and consumers.
//!
//! When the broker restarts, the next publish or consume finds the
//! connection closed and connects again; callers retry with back-off, and
//! the outbox keeps unpublished messages safe meanwhile.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use serde::Deserialize;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::topology::Topology;

/// Broker settings, usually from the service's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct BusConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: String,
    /// Prefix of every exchange and queue name.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Unacked messages a consumer may hold at once (bounds its concurrency).
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Deliveries before a failing message is dead-lettered.
    #[serde(default = "default_max_deliveries")]
    pub max_deliveries: u32,
    /// First retry delay; it doubles with each delivery, up to 30 s.
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
}

fn default_namespace() -> String {
    "akashi".into()
}
fn default_prefetch() -> u16 {
    32
}
fn default_max_deliveries() -> u32 {
    5
}
fn default_retry_base_ms() -> u64 {
    200
}

impl BusConfig {
    /// Settings for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            namespace: default_namespace(),
            prefetch: default_prefetch(),
            max_deliveries: default_max_deliveries(),
            retry_base_ms: default_retry_base_ms(),
        }
    }
}

/// Failures talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("timed out talking to the broker")]
    Timeout,
    #[error("the broker refused (nacked) the message")]
    Nacked,
    #[error("message could not be serialised: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("the consumer stream ended")]
    ConsumerEnded,
}

struct Live {
    connection: Arc<Connection>,
    publisher: Channel,
}

/// One service's handle on the broker.
pub struct Bus {
    service: String,
    config: BusConfig,
    topology: Topology,
    live: Mutex<Option<Live>>,
}

/// A message ready to publish: the bytes of its envelope and what routes it.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub id: Uuid,
    pub routing_key: String,
    pub body: Vec<u8>,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

impl Bus {
    /// A handle for `service`; nothing is connected until first use.
    pub fn new(service: &str, config: BusConfig) -> Arc<Self> {
        let topology = Topology::new(&config.namespace);
        Arc::new(Self {
            service: service.to_string(),
            config,
            topology,
            live: Mutex::new(None),
        })
    }

    /// The service this handle belongs to.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The broker settings.
    pub fn config(&self) -> &BusConfig {
        &self.config
    }

    /// Exchange and queue names.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    async fn connect(&self) -> Result<Live, BusError> {
        let props = ConnectionProperties::default().with_connection_name(self.service.clone().into());
        let connection = tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&self.config.url, props))
            .await
            .map_err(|_| BusError::Timeout)??;
        let publisher = connection.create_channel().await?;
        self.topology.declare_exchanges(&publisher).await?;
        publisher.confirm_select(ConfirmSelectOptions::default()).await?;
        tracing::info!(service = %self.service, "connected to RabbitMQ");
        Ok(Live {
            connection: Arc::new(connection),
            publisher,
        })
    }

    fn is_usable(live: &Live) -> bool {
        live.connection.status().connected() && live.publisher.status().connected()
    }

    /// Opens a fresh channel on the (re)established connection, for a consumer.
    pub async fn open_channel(&self) -> Result<Channel, BusError> {
        let mut guard = self.live.lock().await;
        if !guard.as_ref().is_some_and(Self::is_usable) {
            *guard = Some(self.connect().await?);
        }
        let live = guard.as_ref().expect("connected just above");
        Ok(live.connection.create_channel().await?)
    }

    /// Whether the broker is reachable now (connecting if needed): `/readyz`.
    pub async fn check(&self) -> Result<(), BusError> {
        let mut guard = self.live.lock().await;
        if !guard.as_ref().is_some_and(Self::is_usable) {
            *guard = Some(self.connect().await?);
        }
        Ok(())
    }

    /// Publishes each message persistently and waits for the broker's
    /// confirms. Answers, per message, whether the broker confirmed it *and*
    /// routed it to at least one queue.
    ///
    /// On a connection failure the connection is dropped, so the next call
    /// reconnects; the caller keeps the unconfirmed messages and retries.
    pub async fn publish_batch(&self, messages: &[OutgoingMessage]) -> Result<Vec<bool>, BusError> {
        let mut guard = self.live.lock().await;
        if !guard.as_ref().is_some_and(Self::is_usable) {
            *guard = Some(self.connect().await?);
        }
        let live = guard.as_ref().expect("connected just above");
        let result = self.publish_on(&live.publisher, messages).await;
        if result.is_err() {
            *guard = None;
        }
        result
    }

    async fn publish_on(&self, channel: &Channel, messages: &[OutgoingMessage]) -> Result<Vec<bool>, BusError> {
        let exchange = self.topology.events_exchange();
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            let mut headers = FieldTable::default();
            headers.insert(
                ShortString::from("x-akashi-producer"),
                AMQPValue::LongString(LongString::from(self.service.clone())),
            );
            let properties = BasicProperties::default()
                .with_delivery_mode(2) // persistent
                .with_content_type("application/cloudevents+json".into())
                .with_message_id(message.id.to_string().into())
                .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
                .with_headers(headers);
            let confirm = channel
                .basic_publish(
                    exchange.clone().into(),
                    message.routing_key.clone().into(),
                    // Mandatory: a message no queue is bound for comes back
                    // instead of vanishing, and stays in the outbox.
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &message.body,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let mut acked = Vec::with_capacity(confirms.len());
        for (confirm, message) in confirms.into_iter().zip(messages) {
            let outcome = tokio::time::timeout(CONFIRM_TIMEOUT, confirm)
                .await
                .map_err(|_| BusError::Timeout)??;
            match outcome {
                Confirmation::Ack(None) => acked.push(true),
                Confirmation::Ack(Some(_returned)) => {
                    // No queue is bound for this routing key yet (a consumer
                    // that has never started): not delivered, so not done.
                    tracing::warn!(routing_key = %message.routing_key, message_id = %message.id, "unroutable: no queue bound yet; will retry");
                    acked.push(false);
                }
                Confirmation::Nack(_) | Confirmation::NotRequested => acked.push(false),
            }
        }
        metrics::counter!("akashi_bus_published_total", "service" => self.service.clone())
            .increment(acked.iter().filter(|a| **a).count() as u64);
        Ok(acked)
    }

    /// Closes the connection politely (graceful shutdown). The broker's
    /// close-ok does not always come back (seen with lapin 4 on RabbitMQ
    /// 3.10), and a stopping service must not hang on it: wait at most 2 s.
    pub async fn close(&self) {
        if let Some(live) = self.live.lock().await.take() {
            let close = live.connection.close(200, "shutdown".into());
            if tokio::time::timeout(Duration::from_secs(2), close).await.is_err() {
                tracing::warn!("the broker did not acknowledge the connection close within 2 s");
            }
        }
    }
}
