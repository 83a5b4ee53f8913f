//! The issuer's own database: schema, rows, and the queries that use them.

pub mod models;
pub mod schema;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The issuer's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::define_sql_function! {
    /// PostgreSQL `lower(text)`, for case-insensitive name lookups.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
