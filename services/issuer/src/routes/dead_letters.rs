//! The dead-letter queue for operators: list, read, replay, discard.
//! Dead letters are any service's messages, so only platform-wide tokens
//! see them.

use actix_web::{HttpResponse, get, post, web};
use akashi_bus::outbox;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::schema::dead_letters;
use crate::startup::AppState;

/// One dead letter.
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = dead_letters)]
pub struct DeadLetterView {
    pub id: Uuid,
    /// The envelope's id (search the logs for it: `message_id`).
    pub message_id: Option<Uuid>,
    pub routing_key: String,
    /// The queue it died in and why (`rejected`: the handler refused it or
    /// failed every retry; `delivery_limit`; `expired`).
    pub queue: Option<String>,
    pub reason: Option<String>,
    pub deaths: i64,
    /// The message as it was published.
    pub body: String,
    pub received_at: DateTime<Utc>,
    /// `dead`, `replayed` or `discarded`.
    pub status: String,
    pub handled_at: Option<DateTime<Utc>>,
}

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DeadLetterFilter {
    /// `dead` (default), `replayed`, `discarded` or `all`.
    pub status: Option<String>,
    pub routing_key: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000).
    pub limit: Option<i64>,
    /// Skip this many (paging; 0 to 1,000,000).
    pub offset: Option<i64>,
}

fn platform_only(grant: &Grant) -> Result<(), ApiError> {
    grant.require(Scope::EventsRead)?;
    if grant.is_platform() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("dead letters need a platform-wide token".into()))
    }
}

/// Lists dead letters.
#[utoipa::path(params(DeadLetterFilter), responses((status = 200, body = [DeadLetterView]), (status = 403)), security(("bearer" = [])))]
#[get("/admin/dead-letters")]
pub async fn list_dead_letters(
    state: web::Data<AppState>,
    grant: Grant,
    filter: web::Query<DeadLetterFilter>,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let mut q = dead_letters::table
        .order(dead_letters::received_at.desc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .offset(filter.offset.unwrap_or(0).clamp(0, 1_000_000))
        .select(DeadLetterView::as_select())
        .into_boxed();
    match filter.status.as_deref().unwrap_or("dead") {
        "all" => {}
        s @ ("dead" | "replayed" | "discarded") => q = q.filter(dead_letters::status.eq(s.to_string())),
        other => return Err(ApiError::invalid_field(format!("status: unknown {other:?}"))),
    }
    if let Some(key) = &filter.routing_key {
        q = q.filter(dead_letters::routing_key.eq(key.clone()));
    }
    let mut conn = akashi_db::conn(&state.pool).await?;
    let rows: Vec<DeadLetterView> = q.load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// What to do with a dead letter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterAction {
    /// Publish it again under its routing key (consumers that handled it
    /// already skip it; the one that failed gets it again).
    Replay,
    /// Keep it on record but do nothing more with it.
    Discard,
}

/// The action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterCommand {
    pub action: DeadLetterAction,
}

/// Replays or discards one dead letter (once: a handled letter answers 409).
#[utoipa::path(
    request_body = DeadLetterCommand,
    responses((status = 200, body = DeadLetterView), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])),
)]
#[post("/admin/dead-letters/{id}")]
pub async fn handle_dead_letter(
    state: web::Data<AppState>,
    grant: Grant,
    path: web::Path<Uuid>,
    body: web::Json<DeadLetterCommand>,
) -> Result<HttpResponse, ApiError> {
    platform_only(&grant)?;
    let id = *path;
    let who = grant
        .token_id
        .map_or_else(|| "bootstrap".to_string(), |t| t.to_string());
    let mut conn = akashi_db::conn(&state.pool).await?;
    let row = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let letter: DeadLetterView = dead_letters::table
                .find(id)
                .select(DeadLetterView::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| ApiError::NotFound("no such dead letter".into()))?;
            if letter.status != "dead" {
                return Err(ApiError::Conflict(format!(
                    "the dead letter was {} already",
                    letter.status
                )));
            }
            let status = match body.action {
                DeadLetterAction::Replay => {
                    outbox::enqueue_raw(conn, &letter.routing_key, &letter.body)
                        .await
                        .map_err(ApiError::internal)?;
                    "replayed"
                }
                DeadLetterAction::Discard => "discarded",
            };
            let row: DeadLetterView = diesel::update(dead_letters::table.find(id))
                .set((
                    dead_letters::status.eq(status),
                    dead_letters::handled_at.eq(diesel::dsl::now),
                    dead_letters::handled_by.eq(&who),
                ))
                .returning(DeadLetterView::as_returning())
                .get_result(conn)
                .await?;
            Ok(row)
        })
        .await?;
    if row.status == "replayed" {
        state.relay.wake();
    }
    tracing::info!(dead_letter = %id, status = %row.status, "dead letter handled");
    Ok(HttpResponse::Ok().json(row))
}
