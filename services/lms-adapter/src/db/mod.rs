//! The lms-adapter's own database: schema, rows, and the queries that use them.

pub mod models;
pub mod schema;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The lms-adapter's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
