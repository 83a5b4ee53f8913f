//! RabbitMQ handlers of display. All are idempotent writes (insert-or-keep,
//! upsert), so a redelivery changes nothing.

use akashi_bus::{HandlerError, IncomingMessage};
use akashi_model::messages::{BadgeIssued, BadgeRevoked, BlockcertsIssued};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use crate::db::{known_awards, known_blockcerts};
use crate::startup::AppState;

/// `badge.issued`: remember the award and where its documents live.
pub async fn badge_issued(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let issued: BadgeIssued = message.data()?;
    let badge_class_url = issued.ob2_assertion["badge"].as_str().map(str::to_owned);
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    diesel::insert_into(known_awards::table)
        .values((
            known_awards::award_id.eq(issued.award_id),
            known_awards::assertion_url.eq(&issued.urls.ob2_assertion),
            known_awards::badge_class_url.eq(&badge_class_url),
            known_awards::recipient_email.eq(issued.recipient.email.as_str()),
            known_awards::recipient_name.eq(&issued.recipient.name),
            known_awards::issued_on.eq(issued.issued_on),
            known_awards::issuer_id.eq(issued.issuer_id),
        ))
        .on_conflict(known_awards::award_id)
        .do_update()
        // A revocation may have arrived first and left only its part.
        .set((
            known_awards::badge_class_url.eq(excluded(known_awards::badge_class_url)),
            known_awards::recipient_email.eq(excluded(known_awards::recipient_email)),
            known_awards::recipient_name.eq(excluded(known_awards::recipient_name)),
            known_awards::issued_on.eq(excluded(known_awards::issued_on)),
            known_awards::issuer_id.eq(excluded(known_awards::issuer_id)),
        ))
        .execute(&mut conn)
        .await?;
    if state.mail_enabled {
        crate::mailer::queue(&mut conn, issued.award_id, "issued", None).await?;
    }
    tracing::info!(award_id = %issued.award_id, "award known to display");
    Ok(())
}

/// `blockcerts.issued`: remember where the anchored certificate is and on
/// which chain; it never changes, so a copy that exists is kept.
pub async fn blockcerts_issued(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let issued: BlockcertsIssued = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    diesel::insert_into(known_blockcerts::table)
        .values((
            known_blockcerts::award_id.eq(issued.award_id),
            known_blockcerts::url.eq(&issued.url),
            known_blockcerts::chain.eq(&issued.chain),
            known_blockcerts::anchor.eq(&issued.anchor),
            known_blockcerts::anchored_at.eq(issued.anchored_at),
            known_blockcerts::batch_size.eq(issued.batch_size),
        ))
        .on_conflict(known_blockcerts::award_id)
        .do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(award_id = %issued.award_id, chain = %issued.chain, "blockcerts certificate known to display");
    Ok(())
}

/// `badge.revoked`: remember the revocation.
pub async fn badge_revoked(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let revoked: BadgeRevoked = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    diesel::insert_into(known_awards::table)
        .values((
            known_awards::award_id.eq(revoked.award_id),
            known_awards::assertion_url.eq(&revoked.urls.ob2_assertion),
            known_awards::revoked_at.eq(revoked.revoked_at),
            known_awards::revocation_reason.eq(&revoked.reason),
        ))
        .on_conflict(known_awards::award_id)
        .do_update()
        .set((
            known_awards::revoked_at.eq(excluded(known_awards::revoked_at)),
            known_awards::revocation_reason.eq(excluded(known_awards::revocation_reason)),
            known_awards::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    if state.mail_enabled {
        crate::mailer::queue(&mut conn, revoked.award_id, "revoked", Some(&revoked.reason)).await?;
    }
    tracing::info!(award_id = %revoked.award_id, "revocation known to display");
    Ok(())
}

/// `issuer.published`: keep how the issuer's pages and certificates look
/// (the rest of the message — profiles, keys — is host's business).
pub async fn issuer_published(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let published: akashi_model::messages::IssuerPublished = message.data()?;
    let Some(presentation) = &published.presentation else {
        return Ok(());
    };
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    crate::domain::presentation::store(&mut conn, published.issuer_id, presentation).await?;
    tracing::info!(issuer_id = %published.issuer_id, "issuer presentation known to display");
    Ok(())
}

/// `earner.preferences_changed`: keep the earner's newest choice (an older
/// change arriving late is ignored).
pub async fn earner_preferences_changed(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    use crate::db::earner_preferences;
    let changed: akashi_model::messages::EarnerPreferencesChanged = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let upsert = diesel::insert_into(earner_preferences::table)
        .values((
            earner_preferences::email.eq(changed.email.as_str()),
            earner_preferences::hide_name.eq(changed.hide_name),
            earner_preferences::changed_at.eq(changed.changed_at),
        ))
        .on_conflict(earner_preferences::email)
        .do_update()
        .set((
            earner_preferences::hide_name.eq(excluded(earner_preferences::hide_name)),
            earner_preferences::changed_at.eq(excluded(earner_preferences::changed_at)),
        ));
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        earner_preferences::changed_at.lt(excluded(earner_preferences::changed_at)),
    )
    .execute(&mut conn)
    .await?;
    tracing::info!(hide_name = changed.hide_name, "earner preferences known to display");
    Ok(())
}

/// `earner.signin_requested` → queue the sign-in mail (once per request).
pub async fn earner_signin_requested(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let request: akashi_model::messages::EarnerSignInRequested = message.data()?;
    if !state.mail_enabled {
        tracing::warn!("an earner asked to sign in, but mail is not configured (AKASHI_DISPLAY_MAIL__SMTP_URL)");
        return Ok(());
    }
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    crate::mailer::queue_signin(&mut conn, &request).await?;
    Ok(())
}

/// `webhook_subscription.disabled` → queue the mail to the tenant (once per message).
pub async fn webhook_subscription_disabled(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let notice: akashi_model::messages::WebhookSubscriptionDisabled = message.data()?;
    if !state.mail_enabled {
        tracing::warn!(subscription_id = %notice.subscription_id, "a subscription was turned off, but mail is not configured");
        return Ok(());
    }
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    crate::mailer::queue_subscription_disabled(&mut conn, message.envelope.id, &notice).await?;
    tracing::info!(subscription_id = %notice.subscription_id, "subscription-disabled mail queued");
    Ok(())
}

/// `award.mail_requested`: send the award's e-mail again, once per request.
pub async fn award_mail_requested(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    use diesel_async::AsyncConnection;
    let requested: akashi_model::messages::AwardMailRequested = message.data()?;
    if !state.mail_enabled {
        tracing::warn!(award_id = %requested.award_id, "an e-mail was asked for, but mail is not configured");
        return Ok(());
    }
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let message_id = message.envelope.id;
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !akashi_bus::inbox::claim(conn, "display.award.mail_requested", message_id).await? {
            return Ok(());
        }
        crate::mailer::requeue_issued(conn, requested.award_id).await?;
        Ok(())
    })
    .await?;
    tracing::info!(award_id = %requested.award_id, "award e-mail queued again");
    Ok(())
}
