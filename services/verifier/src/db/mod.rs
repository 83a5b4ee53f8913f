//! The verifier's own database: an audit trail of verifications.

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
    }
}
