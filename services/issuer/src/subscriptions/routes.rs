//! The admin API of outgoing event subscriptions (`subscriptions:write`).
//! A tenant's token sees and makes only its tenant's subscriptions, which
//! receive only its events; a platform token's subscription may cover every
//! tenant.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use akashi_net::NetPolicy;
use akashi_runtime::admin::Scope;
use akashi_runtime::{ApiError, Grant};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::db::{AttemptRow, DeliveryRow, SubscriptionRow};
use super::delivery::{secret_context, webhook_id};
use super::events::EventType;
use crate::db::schema::{badge_classes, issuers, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::startup::AppState;

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The endpoint: https on a public address (plain http and private
    /// addresses only for hosts the operator allows).
    #[schema(example = "https://hr.example.com/hooks/akashi")]
    pub url: String,
    /// Any of `badge.issued`, `badge.revoked`, `badge.expired`,
    /// `badge.claimed`, `rule.decision.pending`, `verification.performed`.
    #[schema(example = json!(["badge.issued", "badge.revoked"]))]
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Only this issuer's events (a platform subscription may name any).
    pub issuer_id: Option<Uuid>,
    /// Only this badge class's events.
    pub badge_class_id: Option<Uuid>,
    /// Send the earner's e-mail address with each event (off by default).
    #[serde(default)]
    pub include_recipient_email: bool,
}

/// A subscription as the API shows it (never its secret, but at creation
/// and rotation).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    /// The tenant that owns it; absent: a platform subscription.
    pub owner_issuer_id: Option<Uuid>,
    pub issuer_id: Option<Uuid>,
    pub badge_class_id: Option<Uuid>,
    pub include_recipient_email: bool,
    pub enabled: bool,
    /// Why it was turned off, if the deliverer turned it off.
    pub disabled_reason: Option<String>,
    /// Start of the current run of failed attempts.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// `whsec_…`: shown at creation and rotation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl SubscriptionView {
    fn of(row: SubscriptionRow, secret: Option<String>) -> Self {
        Self {
            id: row.id,
            url: row.url,
            events: row.events,
            description: row.description,
            owner_issuer_id: row.owner_issuer_id,
            issuer_id: row.issuer_id,
            badge_class_id: row.badge_class_id,
            include_recipient_email: row.include_recipient_email,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since,
            previous_secret_expires_at: row.previous_secret_expires_at,
            created_at: row.created_at,
            secret,
        }
    }
}

/// Parses the event names asked for: at least one, each known, no repeats.
fn parse_events(raw: &[String]) -> Result<Vec<String>, ApiError> {
    if raw.is_empty() {
        return Err(ApiError::invalid_field("events: at least one event type is required"));
    }
    let mut events: Vec<String> = Vec::new();
    for name in raw {
        let event = EventType::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            ApiError::unprocessable(
                "unknown_event_type",
                format!("events: {name:?} is not one of {}", known.join(", ")),
            )
        })?;
        if !events.iter().any(|e| e == event.as_str()) {
            events.push(event.as_str().to_string());
        }
    }
    Ok(events)
}

/// Checks an endpoint against the operator's policy, now (delivery checks
/// again at every connection).
async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(ApiError::invalid_field("url: at most 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| ApiError::invalid_field(format!("url: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid_field("url: credentials in the URL are not allowed"));
    }
    NetPolicy::new(&state.webhooks.allow_private_hosts)
        .check_receiver(&url)
        .await
        .map_err(|e| ApiError::unprocessable("url_not_allowed", format!("url: {e}")))?;
    Ok(url.to_string())
}

/// The subscription if the caller may see it (404 otherwise: another
/// tenant's subscription does not exist for it).
async fn visible(state: &AppState, grant: &Grant, id: Uuid) -> Result<SubscriptionRow, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row: SubscriptionRow = webhook_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such subscription".into()))?;
    if grant.issuer_id.is_some() && row.owner_issuer_id != grant.issuer_id {
        return Err(ApiError::NotFound("no such subscription".into()));
    }
    Ok(row)
}

/// Creates a subscription; answers it with its secret, shown this once.
#[utoipa::path(request_body = NewSubscription, responses((status = 201, body = SubscriptionView), (status = 404), (status = 422)), security(("bearer" = [])))]
#[post("/admin/webhook-subscriptions")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    grant: Grant,
    body: web::Json<NewSubscription>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let body = body.into_inner();
    let events = parse_events(&body.events)?;
    let url = checked_url(&state, &body.url).await?;
    let description = match body.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(
            akashi_model::text::single_line(d, 200)
                .map_err(|e| ApiError::invalid_field(format!("description: {e}")))?
                .to_string(),
        ),
        None => None,
    };
    // A tenant's subscription hears only its tenant's events.
    let owner = grant.issuer_id;
    let issuer_id = match (owner, body.issuer_id) {
        (Some(own), Some(asked)) if own != asked => return Err(ApiError::NotFound("no such issuer".into())),
        (_, asked) => asked,
    };
    let mut conn = akashi_db::conn(&state.pool).await?;
    if let Some(id) = issuer_id {
        let exists: Option<Uuid> = issuers::table
            .find(id)
            .select(issuers::id)
            .first(&mut conn)
            .await
            .optional()?;
        exists.ok_or_else(|| ApiError::NotFound("no such issuer".into()))?;
    }
    if let Some(id) = body.badge_class_id {
        let class_issuer: Uuid = badge_classes::table
            .find(id)
            .select(badge_classes::issuer_id)
            .first(&mut conn)
            .await
            .optional()?
            .ok_or_else(|| ApiError::NotFound("no such badge class".into()))?;
        if owner.or(issuer_id).is_some_and(|i| i != class_issuer) {
            return Err(ApiError::NotFound("no such badge class".into()));
        }
    }
    let id = Uuid::now_v7();
    let key = akashi_crypto::standard_webhooks::generate_key();
    let now = Utc::now();
    let row = SubscriptionRow {
        id,
        owner_issuer_id: owner,
        url,
        description,
        events,
        issuer_id,
        badge_class_id: body.badge_class_id,
        include_recipient_email: body.include_recipient_email,
        enabled: true,
        disabled_reason: None,
        sealed_secret: state.keyring.seal(&secret_context(id), &key),
        sealed_previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(webhook_subscriptions::table)
        .values(&row)
        .execute(&mut conn)
        .await?;
    tracing::info!(subscription_id = %id, url = %row.url, "webhook subscription created");
    let secret = akashi_crypto::standard_webhooks::format_secret(&key);
    Ok(HttpResponse::Created().json(SubscriptionView::of(row, Some(secret))))
}

/// The caller's subscriptions (every one for a platform token).
#[utoipa::path(responses((status = 200, body = [SubscriptionView])), security(("bearer" = [])))]
#[get("/admin/webhook-subscriptions")]
pub async fn list_subscriptions(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut query = webhook_subscriptions::table
        .select(SubscriptionRow::as_select())
        .order(webhook_subscriptions::created_at)
        .into_boxed();
    if let Some(own) = grant.issuer_id {
        query = query.filter(webhook_subscriptions::owner_issuer_id.eq(own));
    }
    let rows = query.load(&mut conn).await?;
    let views: Vec<SubscriptionView> = rows.into_iter().map(|r| SubscriptionView::of(r, None)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// One subscription.
#[utoipa::path(responses((status = 200, body = SubscriptionView), (status = 404)), security(("bearer" = [])))]
#[get("/admin/webhook-subscriptions/{subscription_id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::of(row, None)))
}

/// Changes to a subscription; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Turning a subscription back on clears why it was turned off; events
    /// that happened while it was off are not sent.
    pub enabled: Option<bool>,
    pub include_recipient_email: Option<bool>,
}

/// Changes a subscription (on/off, endpoint, events).
#[utoipa::path(request_body = SubscriptionChange, responses((status = 200, body = SubscriptionView), (status = 404), (status = 422)), security(("bearer" = [])))]
#[patch("/admin/webhook-subscriptions/{subscription_id}")]
pub async fn change_subscription(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<SubscriptionChange>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    let body = body.into_inner();
    let url = match &body.url {
        Some(raw) => checked_url(&state, raw).await?,
        None => row.url.clone(),
    };
    let events = match &body.events {
        Some(raw) => parse_events(raw)?,
        None => row.events.clone(),
    };
    let enabled = body.enabled.unwrap_or(row.enabled);
    let turned_on = enabled && !row.enabled;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let changed: SubscriptionRow = diesel::update(webhook_subscriptions::table.find(row.id))
        .set((
            webhook_subscriptions::url.eq(url),
            webhook_subscriptions::events.eq(events),
            webhook_subscriptions::enabled.eq(enabled),
            webhook_subscriptions::include_recipient_email
                .eq(body.include_recipient_email.unwrap_or(row.include_recipient_email)),
            webhook_subscriptions::disabled_reason.eq(if enabled { None } else { row.disabled_reason.clone() }),
            webhook_subscriptions::failing_since.eq(if turned_on { None } else { row.failing_since }),
            webhook_subscriptions::updated_at.eq(Utc::now()),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(&mut conn)
        .await?;
    if turned_on {
        // What was pending when it went off goes out now, from the start.
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::subscription_id.eq(row.id))
                .filter(webhook_deliveries::status.eq("pending")),
        )
        .set(webhook_deliveries::next_attempt_at.eq(Utc::now()))
        .execute(&mut conn)
        .await?;
        state.webhooks_wake.notify_one();
    }
    Ok(HttpResponse::Ok().json(SubscriptionView::of(changed, None)))
}

/// Deletes a subscription and its delivery log.
#[utoipa::path(responses((status = 204), (status = 404)), security(("bearer" = [])))]
#[delete("/admin/webhook-subscriptions/{subscription_id}")]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    diesel::delete(webhook_subscriptions::table.find(row.id))
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How long the old secret keeps signing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Seconds during which both secrets sign (default a day, at most a week).
    pub overlap_secs: Option<u32>,
}

/// A new secret; the old one keeps signing beside it for the overlap, so
/// the receiver can switch without losing an event.
#[utoipa::path(request_body = Rotation, responses((status = 200, body = SubscriptionView), (status = 404), (status = 422)), security(("bearer" = [])))]
#[post("/admin/webhook-subscriptions/{subscription_id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: Option<web::Json<Rotation>>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    let overlap = body.and_then(|b| b.overlap_secs).unwrap_or(86_400);
    if overlap > 7 * 86_400 {
        return Err(ApiError::invalid_field("overlap_secs: at most a week (604800)"));
    }
    let key = akashi_crypto::standard_webhooks::generate_key();
    let now = Utc::now();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let changed: SubscriptionRow = diesel::update(webhook_subscriptions::table.find(row.id))
        .set((
            webhook_subscriptions::sealed_secret.eq(state.keyring.seal(&secret_context(row.id), &key)),
            webhook_subscriptions::sealed_previous_secret.eq(Some(row.sealed_secret)),
            webhook_subscriptions::previous_secret_expires_at.eq(now + chrono::Duration::seconds(i64::from(overlap))),
            webhook_subscriptions::updated_at.eq(now),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(&mut conn)
        .await?;
    tracing::info!(subscription_id = %row.id, overlap_secs = overlap, "webhook secret rotated");
    let secret = akashi_crypto::standard_webhooks::format_secret(&key);
    Ok(HttpResponse::Ok().json(SubscriptionView::of(changed, Some(secret))))
}

/// Which deliveries the log shows.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Newest first; at most this many (default 50, at most 500).
    pub limit: Option<i64>,
    /// Only deliveries of events before this time (paging).
    pub before: Option<DateTime<Utc>>,
}

/// One attempt in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the answer's body (at most 1 KiB).
    pub response_excerpt: Option<String>,
    pub duration_ms: i32,
}

/// One delivery in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    /// The `webhook-id` header it is sent with (the same on every attempt).
    pub webhook_id: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The request body (the CloudEvent).
    pub payload: serde_json::Value,
    pub attempt_log: Vec<AttemptView>,
}

/// The delivery log: each event sent, and every attempt with its answer.
#[utoipa::path(params(LogQuery), responses((status = 200, body = [DeliveryView]), (status = 404)), security(("bearer" = [])))]
#[get("/admin/webhook-subscriptions/{subscription_id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(row.id))
        .select(DeliveryRow::as_select())
        .order((webhook_deliveries::created_at.desc(), webhook_deliveries::seq.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(status) = &query.status {
        if !["pending", "delivered", "failed"].contains(&status.as_str()) {
            return Err(ApiError::invalid_field("status: pending, delivered or failed"));
        }
        deliveries = deliveries.filter(webhook_deliveries::status.eq(status.clone()));
    }
    if let Some(before) = query.before {
        deliveries = deliveries.filter(webhook_deliveries::created_at.lt(before));
    }
    let deliveries: Vec<DeliveryRow> = deliveries.load(&mut conn).await?;
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order(webhook_attempts::id)
        .select(AttemptRow::as_select())
        .load(&mut conn)
        .await?;
    let views: Vec<DeliveryView> = deliveries
        .into_iter()
        .map(|d| DeliveryView {
            webhook_id: webhook_id(d.id),
            attempt_log: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptView {
                    attempted_at: a.attempted_at,
                    status_code: a.status_code,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            payload: d.payload,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Deliveries to send again: one, or every one of a time range.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// One delivery…
    pub delivery_id: Option<Uuid>,
    /// …or those of events from `since` (inclusive)…
    pub since: Option<DateTime<Utc>>,
    /// …until `until` (exclusive; default now).
    pub until: Option<DateTime<Utc>>,
    /// With a time range: only deliveries in this state (`failed`,
    /// `delivered`); all of them when absent.
    pub status: Option<String>,
}

/// How many deliveries go out again.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    pub replayed: usize,
}

/// Sends deliveries again, with their original `webhook-id` (receivers
/// that deduplicate on it ignore what they already have).
#[utoipa::path(request_body = Replay, responses((status = 202, body = Replayed), (status = 404), (status = 422)), security(("bearer" = [])))]
#[post("/admin/webhook-subscriptions/{subscription_id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<Replay>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::SubscriptionsWrite)?;
    let row = visible(&state, &grant, path.into_inner()).await?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut target = diesel::update(webhook_deliveries::table)
        .filter(webhook_deliveries::subscription_id.eq(row.id))
        .into_boxed();
    match (body.delivery_id, body.since) {
        (Some(id), None) if body.until.is_none() && body.status.is_none() => {
            target = target.filter(webhook_deliveries::id.eq(id));
        }
        (None, Some(since)) => {
            let until = body.until.unwrap_or_else(Utc::now);
            if until <= since {
                return Err(ApiError::invalid_field("until: must be after since"));
            }
            target = target
                .filter(webhook_deliveries::created_at.ge(since))
                .filter(webhook_deliveries::created_at.lt(until));
            match body.status.as_deref() {
                None => {}
                Some(status @ ("failed" | "delivered")) => {
                    target = target.filter(webhook_deliveries::status.eq(status.to_string()));
                }
                Some(_) => return Err(ApiError::invalid_field("status: failed or delivered")),
            }
        }
        _ => {
            return Err(ApiError::invalid_field(
                "give either delivery_id, or since (and optionally until)",
            ));
        }
    }
    let replayed = target
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(Utc::now()),
            webhook_deliveries::delivered_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut conn)
        .await?;
    if replayed == 0 && body.delivery_id.is_some() {
        return Err(ApiError::NotFound("no such delivery".into()));
    }
    state.webhooks_wake.notify_one();
    tracing::info!(subscription_id = %row.id, replayed, "webhook deliveries replayed");
    Ok(HttpResponse::Accepted().json(Replayed { replayed }))
}
