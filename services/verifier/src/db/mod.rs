//! The verifier's own database: an audit trail of verifications and the
//! API clients.

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The verifier's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::table! {
    /// One row per verification answered.
    verifications (id) {
        id -> Uuid,
        input_kind -> Text,
        subject -> Nullable<Text>,
        status -> Text,
        format -> Nullable<Text>,
        elapsed_ms -> Int8,
        created_at -> Timestamptz,
        api_client_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    /// API clients (HR systems): key hash and rate limit.
    api_clients (id) {
        id -> Uuid,
        name -> Text,
        key_hash -> Text,
        rate_per_minute -> Int4,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}
