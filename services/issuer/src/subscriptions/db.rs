//! The subscriptions' rows and the queries on them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use akashi_bus::Envelope;
use akashi_model::EmailAddress;
use akashi_model::messages::WebhookSubscriptionDisabled;

use crate::db::schema::{issuers, webhook_attempts, webhook_deliveries, webhook_subscriptions};

/// Why the deliverer turns a subscription off.
pub const DISABLED_REASON: &str = "every delivery failed for the whole retry period";

/// A subscription.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub owner_issuer_id: Option<Uuid>,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub issuer_id: Option<Uuid>,
    pub badge_class_id: Option<Uuid>,
    pub include_recipient_email: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub sealed_secret: Vec<u8>,
    pub sealed_previous_secret: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery to add.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub ordering_key: String,
    pub issuer_id: Uuid,
    pub payload: serde_json::Value,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt to send a delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct AttemptRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub duration_ms: i32,
}

/// A delivery a replica has leased to send.
#[derive(Debug, Clone, QueryableByName)]
pub struct LeasedDelivery {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub subscription_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// Leases up to `limit` due deliveries for `lease_secs`. A delivery is due
/// when its time has come, its subscription is on, no replica holds it, and
/// no earlier delivery of the same subscription and award is still pending
/// (events of one award arrive in order). `SKIP LOCKED`: replicas never
/// wait for each other, nor take the same delivery.
pub async fn lease_due(conn: &mut AsyncPgConnection, limit: i64, lease_secs: i64) -> QueryResult<Vec<LeasedDelivery>> {
    diesel::sql_query(
        "UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $1), attempts = d.attempts + 1 \
         WHERE d.id IN ( \
           SELECT due.id FROM webhook_deliveries due \
           JOIN webhook_subscriptions s ON s.id = due.subscription_id \
           WHERE due.status = 'pending' AND s.enabled AND due.next_attempt_at <= now() \
             AND (due.leased_until IS NULL OR due.leased_until < now()) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier \
               WHERE earlier.subscription_id = due.subscription_id AND earlier.ordering_key = due.ordering_key \
                 AND earlier.status = 'pending' AND earlier.seq < due.seq) \
           ORDER BY due.next_attempt_at, due.seq LIMIT $2 FOR UPDATE OF due SKIP LOCKED) \
         RETURNING d.id, d.subscription_id, d.payload, d.attempts, d.created_at",
    )
    .bind::<BigInt, _>(lease_secs)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The subscriptions' rows, by id.
pub async fn subscriptions_by_id(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<SubscriptionRow>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::id.eq_any(ids))
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await
}

/// How one attempt ended, as the delivery records it.
pub enum Outcome {
    Delivered,
    /// Tried again at this time.
    RetryAt(DateTime<Utc>),
    /// No more attempts.
    Failed,
}

/// Records an attempt and what follows from it, and keeps the
/// subscription's run of failures. A delivery that failed for good while
/// nothing got through since its first attempt turns the subscription off;
/// answers whether it did.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    attempt: &AttemptRow,
    subscription_id: Uuid,
    outcome: Outcome,
) -> QueryResult<bool> {
    use diesel_async::AsyncConnection;
    conn.transaction(async |conn| {
        diesel::insert_into(webhook_attempts::table)
            .values(attempt)
            .execute(conn)
            .await?;
        let now = Utc::now();
        let delivery = webhook_deliveries::table.find(attempt.delivery_id);
        let last = (
            webhook_deliveries::leased_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::last_status_code.eq(attempt.status_code),
            webhook_deliveries::last_error.eq(&attempt.error),
        );
        let subscription = webhook_subscriptions::table.find(subscription_id);
        match outcome {
            Outcome::Delivered => {
                diesel::update(delivery)
                    .set((
                        last,
                        webhook_deliveries::status.eq("delivered"),
                        webhook_deliveries::delivered_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                diesel::update(subscription)
                    .set(webhook_subscriptions::failing_since.eq(None::<DateTime<Utc>>))
                    .execute(conn)
                    .await?;
                Ok(false)
            }
            Outcome::RetryAt(at) => {
                diesel::update(delivery)
                    .set((last, webhook_deliveries::next_attempt_at.eq(at)))
                    .execute(conn)
                    .await?;
                note_failure(conn, subscription_id, attempt.attempted_at).await?;
                Ok(false)
            }
            Outcome::Failed => {
                diesel::update(delivery)
                    .set((last, webhook_deliveries::status.eq("failed")))
                    .execute(conn)
                    .await?;
                note_failure(conn, subscription_id, attempt.attempted_at).await?;
                // Nothing got through to the endpoint since this delivery's
                // first attempt: it has been failing for the whole retry
                // period (a success in between would have moved
                // failing_since past that attempt).
                let first_attempt: Option<DateTime<Utc>> = webhook_attempts::table
                    .filter(webhook_attempts::delivery_id.eq(attempt.delivery_id))
                    .select(diesel::dsl::min(webhook_attempts::attempted_at))
                    .first(conn)
                    .await?;
                let Some(first_attempt) = first_attempt else {
                    return Ok(false);
                };
                let turned_off = diesel::update(
                    subscription
                        .filter(webhook_subscriptions::enabled.eq(true))
                        .filter(webhook_subscriptions::failing_since.le(first_attempt)),
                )
                .set((
                    webhook_subscriptions::enabled.eq(false),
                    webhook_subscriptions::disabled_reason.eq(DISABLED_REASON),
                    webhook_subscriptions::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
                if turned_off == 1 {
                    tell_the_owner(conn, subscription_id, now).await?;
                }
                Ok(turned_off == 1)
            }
        }
    })
    .await
}

/// Queues the mail that tells a tenant its subscription was turned off
/// (display sends it to the issuer's contact address). A platform
/// subscription has no tenant to tell: the log and the API say it.
async fn tell_the_owner(conn: &mut AsyncPgConnection, subscription_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    let (owner, url): (Option<Uuid>, String) = webhook_subscriptions::table
        .find(subscription_id)
        .select((webhook_subscriptions::owner_issuer_id, webhook_subscriptions::url))
        .first(conn)
        .await?;
    let Some(issuer_id) = owner else {
        return Ok(());
    };
    let email: String = issuers::table
        .find(issuer_id)
        .select(issuers::email)
        .first(conn)
        .await?;
    let Ok(to) = EmailAddress::parse(&email) else {
        tracing::warn!(%issuer_id, "the issuer's contact address is not usable; no mail about its subscription");
        return Ok(());
    };
    let notice = Envelope::new(
        crate::SERVICE,
        WebhookSubscriptionDisabled {
            subscription_id,
            issuer_id,
            to,
            url,
            reason: DISABLED_REASON.to_string(),
            disabled_at: now,
        },
        None,
    );
    akashi_bus::outbox::enqueue(conn, &notice)
        .await
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    Ok(())
}

/// Starts a run of failures at `at` unless one is under way.
async fn note_failure(conn: &mut AsyncPgConnection, subscription_id: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        webhook_subscriptions::table
            .find(subscription_id)
            .filter(webhook_subscriptions::failing_since.is_null()),
    )
    .set(webhook_subscriptions::failing_since.eq(at))
    .execute(conn)
    .await?;
    Ok(())
}
