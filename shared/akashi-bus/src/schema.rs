//! Diesel schema of the bus tables (see `migrations/`).

diesel::table! {
    /// Messages waiting to be (or already) published.
    bus_outbox (id) {
        id -> Uuid,
        routing_key -> Text,
        body -> Text,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    /// Message ids each consumer has already processed.
    bus_inbox (consumer, message_id) {
        consumer -> Text,
        message_id -> Uuid,
        processed_at -> Timestamptz,
    }
}
