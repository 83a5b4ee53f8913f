//! RabbitMQ handlers of the issuer.

pub mod dead_letters;
pub mod issue_requested;
