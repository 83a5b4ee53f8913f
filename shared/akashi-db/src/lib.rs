//! PostgreSQL helpers every service uses: create its own database if it is
//! missing, run embedded diesel migrations, and hand out an async pool.
//!
//! Each service owns one database; nothing here lets a service reach another's.

use diesel::QueryableByName;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sql_types::BigInt;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// The async connection pool type every service uses.
pub type PgPool = Pool<AsyncPgConnection>;
/// A connection checked out of a [`PgPool`].
pub type PooledConn = Object<AsyncPgConnection>;

/// Failures while preparing or reaching a database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL is invalid: {0}")]
    BadUrl(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("connection pool: {0}")]
    Pool(String),
}

/// Splits `postgres://…/name` into the maintenance URL (`…/postgres`) and `name`.
fn split_database_name(database_url: &str) -> Result<(String, String), DbError> {
    let mut url = url::Url::parse(database_url).map_err(|e| DbError::BadUrl(e.to_string()))?;
    let name = url.path().trim_start_matches('/').to_string();
    if name.is_empty() {
        return Err(DbError::BadUrl("no database name in the path".into()));
    }
    // Identifiers are interpolated into CREATE DATABASE, so allow only a safe alphabet.
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(DbError::BadUrl(format!(
            "database name {name:?} has characters outside [A-Za-z0-9_-]"
        )));
    }
    url.set_path("/postgres");
    Ok((url.to_string(), name))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Creates the database named in `database_url` unless it exists already.
pub async fn ensure_database(database_url: &str) -> Result<(), DbError> {
    let (maintenance_url, name) = split_database_name(database_url)?;
    let mut conn = AsyncPgConnection::establish(&maintenance_url).await?;
    let found: Count = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&name)
        .get_result(&mut conn)
        .await?;
    if found.n == 0 {
        match diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Two replicas starting at once: the loser sees duplicate_database, which is fine.
            Err(diesel::result::Error::DatabaseError(_, info)) if info.message().contains("already exists") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A set of embedded migrations, by reference, so one `const` serves every call.
pub type Migrations = &'static EmbeddedMigrations;

struct Source(Migrations);

impl MigrationSource<Pg> for Source {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        MigrationSource::<Pg>::migrations(self.0)
    }
}

/// The advisory lock that makes replicas of a service migrate one at a
/// time: the first runs what is pending, the others then find nothing to do.
const MIGRATION_LOCK: i64 = 0x616b_6173_6869_6d67; // "akashimg"

/// Runs every pending migration of each source, in order, on a blocking thread.
///
/// Several sources may share one database (a service's own tables and the
/// bus's outbox/inbox) because their version numbers never collide. Replicas
/// starting together (a rollout) hold a session advisory lock while they
/// migrate, so each migration runs once.
pub async fn run_migrations(database_url: &str, sources: Vec<Migrations>) -> Result<(), DbError> {
    let url = database_url.to_string();
    tokio::task::spawn_blocking(move || {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
        let lock = |sql: &str, conn: &mut AsyncConnectionWrapper<AsyncPgConnection>| {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql).bind::<BigInt, _>(MIGRATION_LOCK), conn)
        };
        lock("SELECT pg_advisory_lock($1)", &mut conn)?;
        let migrated = (|| {
            for source in sources {
                let applied = conn
                    .run_pending_migrations(Source(source))
                    .map_err(|e| DbError::Migration(e.to_string()))?;
                for version in applied {
                    tracing::info!(%version, "applied migration");
                }
            }
            Ok::<_, DbError>(())
        })();
        // Closing the connection would release it too; say so explicitly.
        lock("SELECT pg_advisory_unlock($1)", &mut conn)?;
        migrated
    })
    .await
    .map_err(|e| DbError::Migration(format!("migration thread panicked: {e}")))?
}

/// Builds a pool for `database_url` with at most `max_size` connections.
pub fn pool(database_url: &str, max_size: usize) -> Result<PgPool, DbError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Creates, migrates and opens the service's database in one step.
pub async fn prepare(database_url: &str, sources: Vec<Migrations>, max_size: usize) -> Result<PgPool, DbError> {
    ensure_database(database_url).await?;
    run_migrations(database_url, sources).await?;
    pool(database_url, max_size)
}

/// Checks out a connection, mapping pool errors into [`DbError`].
pub async fn conn(pool: &PgPool) -> Result<PooledConn, DbError> {
    pool.get().await.map_err(|e| DbError::Pool(e.to_string()))
}

/// `SELECT 1` through the pool: what `/readyz` asks of the database.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut c).await?;
    Ok(())
}

/// Whether a diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_database_name_off_the_url() {
        let (m, n) = split_database_name("postgres://postgres@127.0.0.1:5432/akashi_issuer").unwrap();
        assert_eq!(n, "akashi_issuer");
        assert_eq!(m, "postgres://postgres@127.0.0.1:5432/postgres");
    }

    #[test]
    fn refuses_unsafe_or_missing_names() {
        assert!(split_database_name("postgres://h/").is_err());
        assert!(split_database_name("postgres://h/a\";drop").is_err());
        assert!(split_database_name("not a url").is_err());
    }
}
