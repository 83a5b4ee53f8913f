//! Host's own database: copies of every public document, and revocations.

pub mod schema;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// Host's tables.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
