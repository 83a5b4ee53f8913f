//! RabbitMQ handlers of the issuer.

pub mod dead_letters;
pub mod event_observed;
pub mod issue_requested;
