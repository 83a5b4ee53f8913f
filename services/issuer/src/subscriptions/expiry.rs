//! `badge.expired`: nothing happens at the moment a badge expires, so the
//! issuer looks for awards whose date has passed and announces each once.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::events::{self, Event, EventType};
use crate::db::models::AwardRow;
use crate::db::schema::{awards, badge_classes, issuers};
use crate::startup::AppState;

/// Awards announced per transaction.
const BATCH: i64 = 200;

/// Announces expired awards every `every`, until `shutdown`.
pub async fn run(state: AppState, every: Duration, wake: std::sync::Arc<Notify>, shutdown: CancellationToken) {
    loop {
        match announce_expired(&state).await {
            Ok(n) if n > 0 => {
                tracing::info!(awards = n, "expired awards announced");
                wake.notify_one();
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "looking for expired awards failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// One batch: marks up to [`BATCH`] expired, unrevoked, unannounced awards
/// announced and records their events, in one transaction (`SKIP LOCKED`:
/// replicas share the work without announcing an award twice).
async fn announce_expired(state: &AppState) -> anyhow::Result<usize> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let links = state.links.clone();
    let count = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let now = chrono::Utc::now();
            let due: Vec<AwardRow> = awards::table
                .filter(awards::expires_at.le(now))
                .filter(awards::expiry_announced_at.is_null())
                .filter(awards::revoked_at.is_null())
                .order(awards::expires_at)
                .limit(BATCH)
                .for_update()
                .skip_locked()
                .select(AwardRow::as_select())
                .load(conn)
                .await?;
            for award in &due {
                let (issuer_name, badge_name): (String, String) = badge_classes::table
                    .inner_join(issuers::table)
                    .filter(badge_classes::id.eq(award.badge_class_id))
                    .select((issuers::name, badge_classes::name))
                    .first(conn)
                    .await?;
                let mut event = Event::about_award(
                    EventType::BadgeExpired,
                    award,
                    (&issuer_name, &badge_name),
                    links.award(award.id),
                    &links,
                    json!({"expired_at": award.expires_at}),
                );
                event.occurred_at = award.expires_at.unwrap_or(now);
                events::record(conn, Uuid::now_v7(), &event).await?;
            }
            let ids: Vec<Uuid> = due.iter().map(|a| a.id).collect();
            diesel::update(awards::table.filter(awards::id.eq_any(&ids)))
                .set(awards::expiry_announced_at.eq(now))
                .execute(conn)
                .await?;
            Ok(due.len())
        })
        .await?;
    Ok(count)
}
