//! RabbitMQ handlers of host. Each one is an idempotent write (an upsert or
//! an insert that ignores a duplicate), so a redelivery changes nothing and
//! no inbox entry is needed.

use akashi_bus::{HandlerError, IncomingMessage};
use akashi_model::messages::{
    BadgeClassPublished, BadgeIssued, BadgeRevoked, BlockcertsIssued, IssuerPublished, RevocationHosted,
    StatusListPublished,
};
use base64::Engine;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::db::schema::{
    hosted_assertions, hosted_badge_classes, hosted_blockcerts, hosted_issuers, hosted_keys, revocations,
};
use crate::startup::AppState;

/// `issuer.published`: store (or replace) the issuer's Profile.
pub async fn issuer_published(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let published: IssuerPublished = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    // A key rotation right after creation, a presentation change: versions
    // may be handled out of order, and the newest published one stays.
    let published_at = published.published_at.unwrap_or_else(chrono::Utc::now);
    let upsert = diesel::insert_into(hosted_issuers::table)
        .values((
            hosted_issuers::id.eq(published.issuer_id),
            hosted_issuers::profile.eq(&published.profile),
            hosted_issuers::ob3_profile.eq(&published.ob3_profile),
            hosted_issuers::blockcerts_profile.eq(&published.blockcerts_profile),
            hosted_issuers::updated_at.eq(published_at),
        ))
        .on_conflict(hosted_issuers::id)
        .do_update()
        .set((
            hosted_issuers::profile.eq(excluded(hosted_issuers::profile)),
            hosted_issuers::ob3_profile.eq(excluded(hosted_issuers::ob3_profile)),
            hosted_issuers::blockcerts_profile.eq(excluded(hosted_issuers::blockcerts_profile)),
            hosted_issuers::updated_at.eq(excluded(hosted_issuers::updated_at)),
        ));
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        hosted_issuers::updated_at.le(excluded(hosted_issuers::updated_at)),
    )
    .execute(&mut conn)
    .await?;
    for key in &published.keys {
        let upsert = diesel::insert_into(hosted_keys::table)
            .values((
                hosted_keys::id.eq(key.key_id),
                hosted_keys::issuer_id.eq(published.issuer_id),
                hosted_keys::document.eq(&key.document),
                hosted_keys::updated_at.eq(published_at),
            ))
            .on_conflict(hosted_keys::id)
            .do_update()
            .set((
                hosted_keys::document.eq(excluded(hosted_keys::document)),
                hosted_keys::updated_at.eq(excluded(hosted_keys::updated_at)),
            ));
        diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            hosted_keys::updated_at.le(excluded(hosted_keys::updated_at)),
        )
        .execute(&mut conn)
        .await?;
    }
    tracing::info!(issuer_id = %published.issuer_id, keys = published.keys.len(), "issuer profile hosted");
    Ok(())
}

/// `badge_class.published`: store (or replace) the BadgeClass and its image.
pub async fn badge_class_published(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let published: BadgeClassPublished = message.data()?;
    let image = base64::engine::general_purpose::STANDARD
        .decode(&published.image.data_base64)
        .map_err(|e| HandlerError::permanent(format!("badge image is not base64: {e}")))?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    // Versions of one badge class may be handled out of order (a translation
    // added right after creation): the newest published one stays.
    let published_at = published.published_at.unwrap_or_else(chrono::Utc::now);
    let upsert = diesel::insert_into(hosted_badge_classes::table)
        .values((
            hosted_badge_classes::id.eq(published.badge_class_id),
            hosted_badge_classes::issuer_id.eq(published.issuer_id),
            hosted_badge_classes::document.eq(&published.badge_class),
            hosted_badge_classes::image.eq(&image),
            hosted_badge_classes::image_content_type.eq(&published.image.content_type),
            hosted_badge_classes::language.eq(&published.language),
            hosted_badge_classes::editions.eq(serde_json::to_value(&published.editions).unwrap_or_default()),
            hosted_badge_classes::updated_at.eq(published_at),
        ))
        .on_conflict(hosted_badge_classes::id)
        .do_update()
        .set((
            hosted_badge_classes::document.eq(excluded(hosted_badge_classes::document)),
            hosted_badge_classes::image.eq(excluded(hosted_badge_classes::image)),
            hosted_badge_classes::image_content_type.eq(excluded(hosted_badge_classes::image_content_type)),
            hosted_badge_classes::language.eq(excluded(hosted_badge_classes::language)),
            hosted_badge_classes::editions.eq(excluded(hosted_badge_classes::editions)),
            hosted_badge_classes::updated_at.eq(excluded(hosted_badge_classes::updated_at)),
        ));
    diesel::query_dsl::methods::FilterDsl::filter(
        upsert,
        hosted_badge_classes::updated_at.le(excluded(hosted_badge_classes::updated_at)),
    )
    .execute(&mut conn)
    .await?;
    tracing::info!(badge_class_id = %published.badge_class_id, "badge class hosted");
    Ok(())
}

/// `badge.issued`: store the Assertion; it is immutable, so a copy that
/// exists already is kept as it is.
pub async fn badge_issued(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let issued: BadgeIssued = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let inserted = diesel::insert_into(hosted_assertions::table)
        .values((
            hosted_assertions::id.eq(issued.award_id),
            hosted_assertions::issuer_id.eq(issued.issuer_id),
            hosted_assertions::badge_class_id.eq(issued.badge_class_id),
            hosted_assertions::recipient_email.eq(issued.recipient.email.as_str()),
            hosted_assertions::document.eq(&issued.ob2_assertion),
            hosted_assertions::issued_on.eq(issued.issued_on),
            hosted_assertions::ob2_signed_jws.eq(&issued.ob2_signed_jws),
            hosted_assertions::ob3_credential.eq(&issued.ob3_credential),
            hosted_assertions::ob3_jwt.eq(&issued.ob3_jwt),
        ))
        .on_conflict(hosted_assertions::id)
        .do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(award_id = %issued.award_id, new = inserted == 1, "assertion hosted");
    Ok(())
}

/// `blockcerts.issued`: store the anchored certificate; like an assertion
/// it never changes, so a copy that exists already is kept.
pub async fn blockcerts_issued(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let issued: BlockcertsIssued = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let inserted = diesel::insert_into(hosted_blockcerts::table)
        .values((
            hosted_blockcerts::award_id.eq(issued.award_id),
            hosted_blockcerts::issuer_id.eq(issued.issuer_id),
            hosted_blockcerts::certificate.eq(&issued.certificate),
            hosted_blockcerts::chain.eq(&issued.chain),
            hosted_blockcerts::anchor.eq(&issued.anchor),
            hosted_blockcerts::anchored_at.eq(issued.anchored_at),
        ))
        .on_conflict(hosted_blockcerts::award_id)
        .do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(award_id = %issued.award_id, new = inserted == 1, "blockcerts certificate hosted");
    Ok(())
}

/// `status_list.published`: keep the newest version of each list. Versions
/// may arrive out of order (concurrent consumers), so an upsert only wins
/// over an older one. A list that changed is announced (`revocation.hosted`).
pub async fn status_list_published(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let list: StatusListPublished = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let notice = revocation_hosted(list.issuer_id, None);
    conn.transaction::<_, HandlerError, _>(async |conn| {
        let changed = diesel::sql_query(
            "INSERT INTO hosted_status_lists (issuer_id, list_no, credential, jwt, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (issuer_id, list_no) DO UPDATE SET credential = excluded.credential, jwt = excluded.jwt, \
             updated_at = excluded.updated_at WHERE hosted_status_lists.updated_at < excluded.updated_at",
        )
        .bind::<diesel::sql_types::Uuid, _>(list.issuer_id)
        .bind::<diesel::sql_types::Integer, _>(list.list_no)
        .bind::<diesel::sql_types::Jsonb, _>(&list.credential)
        .bind::<diesel::sql_types::Text, _>(&list.jwt)
        .bind::<diesel::sql_types::Timestamptz, _>(list.updated_at)
        .execute(conn)
        .await?;
        if changed == 1 {
            akashi_bus::outbox::enqueue(conn, &notice).await.map_err(HandlerError::transient)?;
        }
        Ok(())
    })
    .await?;
    state.relay.wake();
    tracing::info!(issuer_id = %list.issuer_id, list_no = list.list_no, "status list hosted");
    Ok(())
}

/// `badge.revoked`: record the revocation (it may arrive before the
/// assertion) and, once it is served, announce it (`revocation.hosted`).
pub async fn badge_revoked(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let revoked: BadgeRevoked = message.data()?;
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let notice = revocation_hosted(revoked.issuer_id, Some(revoked.award_id));
    conn.transaction::<_, HandlerError, _>(async |conn| {
        let inserted = diesel::insert_into(revocations::table)
            .values((
                revocations::assertion_id.eq(revoked.award_id),
                revocations::issuer_id.eq(revoked.issuer_id),
                revocations::reason.eq(&revoked.reason),
                revocations::revoked_at.eq(revoked.revoked_at),
            ))
            .on_conflict(revocations::assertion_id)
            .do_nothing()
            .execute(conn)
            .await?;
        if inserted == 1 {
            akashi_bus::outbox::enqueue(conn, &notice)
                .await
                .map_err(HandlerError::transient)?;
        }
        Ok(())
    })
    .await?;
    state.relay.wake();
    tracing::info!(award_id = %revoked.award_id, "revocation hosted");
    Ok(())
}

/// The notice that lets every verifier replica forget documents it cached
/// before host served a revocation.
fn revocation_hosted(issuer_id: uuid::Uuid, award_id: Option<uuid::Uuid>) -> akashi_bus::Envelope<RevocationHosted> {
    akashi_bus::Envelope::new(
        crate::SERVICE,
        RevocationHosted {
            issuer_id,
            award_id,
            hosted_at: chrono::Utc::now(),
        },
        None,
    )
}
