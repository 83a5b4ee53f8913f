//! RabbitMQ handlers of the issuer.

pub mod issue_requested;
