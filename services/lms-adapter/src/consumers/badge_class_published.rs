//! `badge_class.published` → remember the badge class, so rules can name it
//! and be checked against its issuer (tenant).

use akashi_bus::{HandlerError, IncomingMessage, inbox};
use akashi_model::messages::BadgeClassPublished;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::known_badge_classes;
use crate::startup::AppState;

const CONSUMER: &str = "lms-adapter.badge_class.published";

/// Handles one delivery.
pub async fn handle(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let published: BadgeClassPublished = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let message_id = message.envelope.id;
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !inbox::claim(conn, CONSUMER, message_id).await? {
            return Ok(());
        }
        diesel::insert_into(known_badge_classes::table)
            .values((
                known_badge_classes::id.eq(published.badge_class_id),
                known_badge_classes::issuer_id.eq(published.issuer_id),
                known_badge_classes::name.eq(&published.name),
            ))
            .on_conflict(known_badge_classes::id)
            .do_update()
            .set((
                known_badge_classes::name.eq(excluded(known_badge_classes::name)),
                known_badge_classes::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    tracing::info!(badge_class_id = %published.badge_class_id, "badge class known");
    Ok(())
}
