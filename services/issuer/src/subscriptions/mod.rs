//! Events out: other systems (an HR system, a student information system, a
//! data warehouse) subscribe to what happens to badges, and each event is
//! POSTed to their endpoint as the Standard Webhooks specification says,
//! its body a CloudEvents 1.0 JSON event.
//!
//! - [`events`]: the event types, and recording an event — one delivery per
//!   matching subscription, in the transaction of what happened (an
//!   outbox: an event is sent if and only if it happened).
//! - [`delivery`]: the worker that sends due deliveries (leased, so that one
//!   replica sends each at a time), retries with back-off for three days,
//!   and turns off a subscription that has failed all that time.
//! - [`expiry`]: announces awards whose expiry date has passed.
//! - [`routes`]: the admin API (subscriptions, secrets, the delivery log,
//!   replays).

pub mod db;
pub mod delivery;
pub mod events;
pub mod expiry;
pub mod routes;
