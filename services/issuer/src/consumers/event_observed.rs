//! `event.observed` → deliveries to the subscriptions that want it. Host,
//! the lms-adapter and the verifier see things happen that the issuer does
//! not (an earner claiming a badge, a decision waiting for approval, a
//! verification); the issuer
//! owns the subscriptions. Idempotent without an inbox: the message id is
//! the event id, and a subscription gets one delivery per event id.

use akashi_bus::{HandlerError, IncomingMessage};
use akashi_model::messages::EventObserved;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::models::AwardRow;
use crate::db::schema::{awards, badge_classes, issuers};
use crate::startup::AppState;
use crate::subscriptions::events::{self, Event, EventType};

/// Handles one delivery.
pub async fn handle(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let observed: EventObserved = message.data()?;
    let event_type = EventType::parse(&observed.event_type)
        .ok_or_else(|| HandlerError::permanent(format!("unknown event type {:?}", observed.event_type)))?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let mut event = match observed.award_id {
        Some(award_id) => {
            let found: Option<(AwardRow, String, String)> = awards::table
                .inner_join(badge_classes::table)
                .inner_join(issuers::table.on(issuers::id.eq(awards::issuer_id)))
                .filter(awards::id.eq(award_id))
                .select((AwardRow::as_select(), issuers::name, badge_classes::name))
                .first(&mut conn)
                .await
                .optional()?;
            let Some((award, issuer_name, badge_name)) = found else {
                // Anyone may ask the verifier about a URL that looks like
                // one of ours: nothing to announce. Host and the lms-adapter
                // learn of awards from the issuer, so from them it is an error.
                if event_type == EventType::VerificationPerformed {
                    tracing::info!(%award_id, "a verification of an award that does not exist; not announced");
                    return Ok(());
                }
                return Err(HandlerError::permanent(format!("unknown award {award_id}")));
            };
            Event::about_award(
                event_type,
                &award,
                (&issuer_name, &badge_name),
                state.links.award(award_id),
                &state.links,
                observed.data.clone(),
            )
        }
        None => {
            let issuer_id = observed
                .issuer_id
                .ok_or_else(|| HandlerError::permanent("an event without an award names its issuer"))?;
            Event {
                event_type,
                issuer_id,
                badge_class_id: observed.badge_class_id,
                subject: observed
                    .subject
                    .clone()
                    .unwrap_or_else(|| message.envelope.id.to_string()),
                occurred_at: observed.occurred_at,
                data: observed.data.clone(),
                recipient_email: None,
                source: state.links.issuer(issuer_id),
            }
        }
    };
    event.occurred_at = observed.occurred_at;
    if let Some(email) = &observed.recipient_email {
        event.recipient_email = Some(email.as_str().to_string());
    }
    let added = events::record(&mut conn, message.envelope.id, &event).await?;
    if added > 0 {
        state.webhooks_wake.notify_one();
    }
    tracing::info!(event_type = %observed.event_type, deliveries = added, "observed event recorded");
    Ok(())
}
