//! Stores what the broker dead-lettered (any service's messages), so that
//! operators can inspect and replay it (`routes/dead_letters.rs`).

use akashi_bus::dead_letters::DeadLetter;
use akashi_db::PgPool;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::schema::dead_letters;

/// Stores one dead letter.
pub async fn store(pool: PgPool, letter: DeadLetter) -> Result<(), String> {
    let mut conn = akashi_db::conn(&pool).await.map_err(|e| e.to_string())?;
    tracing::warn!(
        message_id = ?letter.message_id,
        routing_key = %letter.routing_key,
        queue = ?letter.queue,
        reason = ?letter.reason,
        "dead letter kept for inspection"
    );
    diesel::insert_into(dead_letters::table)
        .values((
            dead_letters::id.eq(Uuid::now_v7()),
            dead_letters::message_id.eq(letter.message_id),
            dead_letters::routing_key.eq(&letter.routing_key),
            dead_letters::queue.eq(&letter.queue),
            dead_letters::reason.eq(&letter.reason),
            dead_letters::deaths.eq(letter.deaths),
            dead_letters::body.eq(&letter.body),
        ))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
