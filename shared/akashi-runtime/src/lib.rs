//! What every Akashi service process shares: layered configuration,
//! JSON telemetry, the operational endpoints (`/healthz`, `/readyz`,
//! `/metrics`, `/openapi.json`), request ids, the JSON error shape, admin
//! bearer-token authentication, and the start/stop lifecycle (database,
//! bus, outbox relay, consumers, HTTP, graceful shutdown).

pub mod admin;
pub mod config;
pub mod error;
pub mod http;
pub mod service;
pub mod telemetry;

pub use admin::{Grant, Role, Scope};
pub use config::{CommonConfig, PublicUrls};
pub use error::ApiError;
pub use service::ServiceContext;
