//! The credential data model Akashi speaks: Open Badges 2.0 documents, the
//! domain newtypes every service parses its input into, and the payloads of
//! the messages the services exchange over RabbitMQ.
//!
//! Nothing here knows about one service, a database or the broker.

pub mod email;
pub mod language;
pub mod messages;
pub mod ob2;
pub mod text;

pub use email::{EmailAddress, EmailError};
pub use language::Lang;
