//! `issue.requested` → one award (OB 2.0 hosted Assertion) → `badge.issued`.
//!
//! Exactly-once in effect, on two independent grounds: the inbox recognises
//! a redelivered message, and the award's unique idempotency key recognises
//! the same request arriving as a different message (an LMS resending).

use akashi_bus::{Envelope, HandlerError, IncomingMessage, inbox, outbox};
use akashi_model::messages::{BadgeIssued, IssueRequested};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::{AwardRow, BadgeClassRow};
use crate::db::schema::{awards, badge_classes};
use crate::domain::documents::{self, AssertionFacts};
use crate::startup::AppState;

const CONSUMER: &str = "issuer.issue.requested";

/// What handling one request did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Issued(Uuid),
    /// This message was processed before (redelivery).
    AlreadyProcessed,
    /// Another message with the same idempotency key issued it already.
    AlreadyIssued(Uuid),
}

/// Handles one delivery.
pub async fn handle(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let request: IssueRequested = message.data()?;
    let outcome = issue(
        &state,
        message.envelope.id,
        message.envelope.correlationid.clone(),
        request,
    )
    .await?;
    match outcome {
        Outcome::Issued(id) => {
            state.relay.wake();
            tracing::info!(award_id = %id, "badge issued");
        }
        Outcome::AlreadyProcessed => tracing::info!("redelivered message ignored (inbox)"),
        Outcome::AlreadyIssued(id) => tracing::info!(award_id = %id, "duplicate request ignored (idempotency key)"),
    }
    Ok(())
}

/// Issues the award for `request` in one transaction with its inbox entry
/// and its `badge.issued` message.
pub async fn issue(
    state: &AppState,
    message_id: Uuid,
    correlation: Option<String>,
    request: IssueRequested,
) -> Result<Outcome, HandlerError> {
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let links = state.links.clone();
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !inbox::claim(conn, CONSUMER, message_id).await? {
            return Ok(Outcome::AlreadyProcessed);
        }
        let existing: Option<Uuid> = awards::table
            .filter(awards::idempotency_key.eq(&request.idempotency_key))
            .select(awards::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(id) = existing {
            return Ok(Outcome::AlreadyIssued(id));
        }
        let badge_class: BadgeClassRow = badge_classes::table
            .find(request.badge_class_id)
            .select(BadgeClassRow::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| HandlerError::permanent(format!("unknown badge class {}", request.badge_class_id)))?;
        if badge_class.issuer_id != request.issuer_id {
            return Err(HandlerError::permanent(format!(
                "badge class {} does not belong to issuer {}",
                badge_class.id, request.issuer_id
            )));
        }
        let award_id = Uuid::now_v7();
        let email = request.recipient.email.as_str();
        let salt = akashi_crypto::identity::new_salt();
        let identity_hash = akashi_crypto::identity::hash_identity(email, &salt);
        let issued_on = Utc::now();
        let assertion = documents::assertion(
            &AssertionFacts {
                award_id,
                badge_class_id: badge_class.id,
                identity_hash: &identity_hash,
                salt: &salt,
                issued_on,
                expires: None,
                narrative: request.narrative.as_deref(),
                evidence: &request.evidence,
            },
            &links,
        );
        let assertion = serde_json::to_value(&assertion).map_err(HandlerError::permanent)?;
        let row = AwardRow {
            id: award_id,
            idempotency_key: request.idempotency_key.clone(),
            issuer_id: request.issuer_id,
            badge_class_id: badge_class.id,
            recipient_email: email.to_string(),
            recipient_name: request.recipient.name.clone(),
            salt,
            identity_hash,
            issued_on,
            expires_at: None,
            origin: serde_json::to_value(&request.origin).map_err(HandlerError::permanent)?,
            ob2_assertion: assertion.clone(),
            revoked_at: None,
            revocation_reason: None,
            created_at: issued_on,
        };
        diesel::insert_into(awards::table).values(&row).execute(conn).await?;
        let issued = BadgeIssued {
            award_id,
            issuer_id: row.issuer_id,
            badge_class_id: row.badge_class_id,
            recipient: request.recipient.clone(),
            issued_on,
            expires: None,
            ob2_assertion: assertion,
            urls: links.award(award_id),
        };
        outbox::enqueue(conn, &Envelope::new(crate::SERVICE, issued, correlation.clone()))
            .await
            .map_err(HandlerError::transient)?;
        Ok(Outcome::Issued(award_id))
    })
    .await
}
