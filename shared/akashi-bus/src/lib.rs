//! The message bus every Akashi service uses, on RabbitMQ through lapin.
//!
//! What it guarantees, and how:
//! - **nothing lost**: a durable topic exchange, durable quorum queues,
//!   persistent messages, publisher confirms, and a transactional outbox
//!   ([`outbox`]) so that a state change and its message commit together;
//! - **nothing doubled**: manual acks only after the consumer's own
//!   transaction commits, and an inbox ([`inbox`]) that recognises a
//!   redelivered message;
//! - **nothing stuck**: bounded retries with back-off, then a dead-letter
//!   queue an operator can inspect and replay; automatic reconnection when
//!   the broker restarts.
//!
//! Messages are CloudEvents 1.0 JSON envelopes ([`envelope`]).

pub mod connection;
pub mod consumer;
pub mod dead_letters;
pub mod envelope;
pub mod inbox;
pub mod outbox;
pub mod schema;
pub mod topology;

pub use connection::{Bus, BusConfig, BusError};
pub use consumer::{ConsumerSpec, HandlerError, IncomingMessage};
pub use envelope::Envelope;
pub use outbox::Relay;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The bus's own tables (outbox and inbox), to run beside a service's migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
