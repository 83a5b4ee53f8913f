//! `badge.issued` / `badge.revoked` → remember the award, so the LTI launch
//! page can show learners their badges with links to them, and rules that
//! ask for the badge as a prerequisite (pathways) can be decided at once.

use akashi_bus::{HandlerError, IncomingMessage, inbox};
use akashi_model::messages::{BadgeIssued, BadgeRevoked};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::known_awards;
use crate::decisions;
use crate::startup::AppState;

const CONSUMER_ISSUED: &str = "lms-adapter.badge.issued";
const CONSUMER_REVOKED: &str = "lms-adapter.badge.revoked";

/// Handles `badge.issued`.
pub async fn issued(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let issued: BadgeIssued = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let message_id = message.envelope.id;
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !inbox::claim(conn, CONSUMER_ISSUED, message_id).await? {
            return Ok(0);
        }
        diesel::insert_into(known_awards::table)
            .values((
                known_awards::award_id.eq(issued.award_id),
                known_awards::badge_class_id.eq(issued.badge_class_id),
                known_awards::learner_email.eq(issued.recipient.email.as_str()),
                known_awards::badge_page.eq(&issued.urls.badge_page),
                known_awards::issued_on.eq(issued.issued_on),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let correlation = message.envelope.correlationid.clone().unwrap_or_default();
        let awards = decisions::decide_after_badge(conn, issued.badge_class_id, &issued.recipient, &correlation)
            .await
            .map_err(HandlerError::transient)?;
        if awards > 0 {
            tracing::info!(awards, badge_class_id = %issued.badge_class_id, "pathway rules decided by a badge");
        }
        Ok(awards)
    })
    .await
    .map(|awards| {
        if awards > 0 {
            state.relay.wake();
        }
    })
}

/// Handles `badge.revoked`.
pub async fn revoked(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let revoked: BadgeRevoked = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let message_id = message.envelope.id;
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !inbox::claim(conn, CONSUMER_REVOKED, message_id).await? {
            return Ok(());
        }
        diesel::update(known_awards::table.find(revoked.award_id))
            .set(known_awards::revoked.eq(true))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}
