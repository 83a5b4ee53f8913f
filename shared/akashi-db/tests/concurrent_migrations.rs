//! Replicas of a service start together in a rollout, each running its
//! migrations: against the real PostgreSQL, eight at once must apply each
//! migration exactly once and all succeed.

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

const LEDGER: EmbeddedMigrations = embed_migrations!("tests/migrations");

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn database_url(name: &str) -> String {
    let base = std::env::var("AKASHI_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    format!("{}/{name}", base.trim_end_matches('/'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_replicas_migrating_at_once_apply_each_migration_once() {
    let name = format!("akashi_db_test_{}", std::process::id());
    let url = database_url(&name);
    akashi_db::ensure_database(&url).await.unwrap();
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { akashi_db::run_migrations(&url, vec![&LEDGER]).await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().expect("every replica's migration run succeeds");
    }
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let rows: Count = diesel::sql_query("SELECT count(*) AS n FROM ledger")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.n, 1, "the migration ran once");
    drop(conn);
    let mut admin = AsyncPgConnection::establish(&database_url("postgres")).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
