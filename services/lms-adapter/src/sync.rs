//! Pulling what pushes can lose: LTI rosters and scores (NRPS, AGS) and
//! Canvas course progress. Run by the admin API on demand and by a
//! background loop every `reconcile_interval_secs`.
//!
//! Everything pulled goes through the same path as a webhook delivery, with
//! natural keys that equal the pushed events' keys where both exist (a
//! Canvas completion found by polling has the key its Live Event would have
//! had), so pulling twice, or pulling what was also pushed, changes nothing.
//! Two replicas running the loop at once are therefore harmless too.

use akashi_model::EmailAddress;
use akashi_runtime::ApiError;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::PlatformRow;
use crate::db::schema::{lti_contexts, lti_platforms, webhook_sources};
use crate::decisions;
use crate::domain::completion::{CompletionEvent, CourseId, EventKind, Grade, Learner, Progress};
use crate::lti::services::{ServiceError, Services};
use crate::startup::AppState;

/// What one sync did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SyncReport {
    /// Members whose e-mail the roster gave (NRPS).
    pub members_mapped: usize,
    /// Results read (AGS).
    pub results_read: usize,
    /// New events recorded (scores, completions found by polling).
    pub events_recorded: usize,
    pub awards_requested: usize,
    /// The line items read; a rule names one as its `activity_id`.
    pub line_items: Vec<String>,
    /// What could not be read (the rest was still synced).
    pub errors: Vec<String>,
}

impl SyncReport {
    fn add(&mut self, other: SyncReport) {
        self.members_mapped += other.members_mapped;
        self.results_read += other.results_read;
        self.events_recorded += other.events_recorded;
        self.awards_requested += other.awards_requested;
        self.line_items.extend(other.line_items);
        self.errors.extend(other.errors);
    }
}

fn service_error(report: &mut SyncReport, what: &str, e: ServiceError) {
    tracing::warn!("{what}: {e}");
    report.errors.push(format!("{what}: {e}"));
}

/// Syncs one platform's contexts (or the one named).
pub async fn sync_platform(
    state: &AppState,
    platform: &PlatformRow,
    context_id: Option<&str>,
) -> Result<SyncReport, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let mut q = lti_contexts::table
        .filter(lti_contexts::platform_id.eq(platform.id))
        .select((
            lti_contexts::context_id,
            lti_contexts::lineitems_url,
            lti_contexts::memberships_url,
        ))
        .into_boxed();
    if let Some(c) = context_id {
        q = q.filter(lti_contexts::context_id.eq(c.to_string()));
    }
    let contexts: Vec<(String, Option<String>, Option<String>)> = q.load(&mut conn).await?;
    if let Some(c) = context_id
        && contexts.is_empty()
    {
        // Not an empty success: the tool learns a context's AGS and NRPS
        // endpoints from a launch, and this one never launched it.
        return Err(ApiError::NotFound(format!(
            "context_unknown: the platform has not launched Akashi in context {c:?} yet; launch it once from that course (its AGS and NRPS endpoints come with the launch)"
        )));
    }
    let key = state.tool_keys.active(&mut conn).await?;
    let services = Services {
        http: &state.http,
        platform,
        key: &key,
        cache: &state.service_tokens,
    };
    let source = format!("lti:{}", platform.id);
    let origin = decisions::Origin {
        source: &source,
        tenant: platform.tenant_issuer_id,
    };
    let mut report = SyncReport::default();
    for (context, lineitems_url, memberships_url) in contexts {
        // The roster first: it maps the users the scores name.
        if let Some(url) = &memberships_url {
            match services.members(url).await {
                Ok(members) => {
                    let mapped: Vec<(String, EmailAddress, Option<String>, Vec<String>)> = members
                        .into_iter()
                        .filter(|m| m.status.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("active")))
                        .filter_map(|m| {
                            let email = EmailAddress::parse(m.email.as_deref()?).ok()?;
                            Some((m.user_id, email, m.name, m.roles))
                        })
                        .collect();
                    report.members_mapped += mapped.len();
                    report.awards_requested += conn
                        .transaction::<_, ApiError, _>(async |conn| {
                            let mut awards = 0;
                            for (user, email, name, roles) in &mapped {
                                // The roster's roles feed rule filters, like a launch's.
                                decisions::add_roles(conn, email, roles).await?;
                                awards += decisions::learn_identity(
                                    conn,
                                    &source,
                                    user,
                                    email,
                                    name.as_deref(),
                                    "nrps",
                                    "sync",
                                )
                                .await?;
                                if let Some(s) = &platform.user_source {
                                    awards += decisions::learn_identity(
                                        conn,
                                        s,
                                        user,
                                        email,
                                        name.as_deref(),
                                        "nrps",
                                        "sync",
                                    )
                                    .await?;
                                }
                            }
                            Ok(awards)
                        })
                        .await?;
                }
                Err(e) => service_error(&mut report, &format!("NRPS {context}"), e),
            }
        }
        if let Some(url) = &lineitems_url {
            match services.line_items(url).await {
                Ok(items) => {
                    for item in items {
                        report.line_items.push(item.id.clone());
                        match services.results(&item.id).await {
                            Ok(results) => {
                                report.results_read += results.len();
                                let events: Vec<CompletionEvent> = results
                                    .into_iter()
                                    .filter_map(|r| {
                                        let maximum = r.result_maximum.or(item.score_maximum)?;
                                        let grade = Grade::from_points(r.result_score?, maximum).ok()??;
                                        Some(CompletionEvent {
                                            external_id: format!(
                                                "{}|{}",
                                                r.id.clone().unwrap_or_else(|| format!("{}|{}", item.id, r.user_id)),
                                                grade.value()
                                            ),
                                            kind: EventKind::Graded,
                                            learner: Learner {
                                                lms_user_id: Some(r.user_id),
                                                ..Learner::default()
                                            },
                                            course_id: CourseId::parse(&context).ok()?,
                                            activity_id: Some(item.id.clone()),
                                            completed_at: None,
                                            grade: Some(grade),
                                            progress: None,
                                        })
                                    })
                                    .collect();
                                let r = record_all(&mut conn, origin, &events).await?;
                                report.add(r);
                            }
                            Err(e) => service_error(&mut report, &format!("AGS results {}", item.id), e),
                        }
                    }
                }
                Err(e) => service_error(&mut report, &format!("AGS line items {context}"), e),
            }
        }
        diesel::update(lti_contexts::table.find((platform.id, &context)))
            .set(lti_contexts::synced_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await?;
    }
    if report.awards_requested > 0 {
        state.relay.wake();
    }
    Ok(report)
}

async fn record_all(
    conn: &mut AsyncPgConnection,
    origin: decisions::Origin<'_>,
    events: &[CompletionEvent],
) -> Result<SyncReport, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let mut report = SyncReport::default();
        for event in events {
            let raw = serde_json::json!({
                "pulled": true,
                "external_id": event.external_id,
                "course_id": event.course_id.as_str(),
                "activity_id": event.activity_id,
                "lms_user_id": event.learner.lms_user_id,
                "grade": event.grade.map(|g| g.value()),
            })
            .to_string();
            let outcome = decisions::record(conn, origin, &raw, event, None, "sync").await?;
            if outcome.status != "duplicate" {
                report.events_recorded += 1;
            }
            report.awards_requested += outcome.awards_requested;
        }
        Ok(report)
    })
    .await
}

/// Polls Canvas for learners whose completion may have been lost: those
/// with progress reported in the last 30 days and no completion recorded.
pub async fn reconcile_canvas(state: &AppState) -> Result<SyncReport, ApiError> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let api: Option<(Option<String>, Option<String>, Option<Uuid>)> = webhook_sources::table
        .find("canvas")
        .select((
            webhook_sources::api_base_url,
            webhook_sources::api_token,
            webhook_sources::tenant_issuer_id,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((Some(base), Some(token), tenant)) = api else {
        return Ok(SyncReport::default());
    };
    let since = Utc::now() - chrono::Duration::days(30);
    let candidates: Vec<(String, Option<String>)> = diesel::sql_query(
        "SELECT DISTINCT p.course_id, p.lms_user_id FROM lms_events p
         WHERE p.source = 'canvas' AND p.kind = 'progress' AND p.received_at > $1 AND p.lms_user_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM lms_events c WHERE c.source = 'canvas' AND c.kind = 'completed'
                           AND c.course_id = p.course_id AND c.lms_user_id = p.lms_user_id)
         LIMIT 1000",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .load::<CandidateRow>(&mut conn)
    .await?
    .into_iter()
    .map(|r| (r.course_id, r.lms_user_id))
    .collect();
    let mut report = SyncReport::default();
    for (course, user) in candidates {
        let Some(user) = user else { continue };
        let url = format!("{base}/api/v1/courses/{course}/users/{user}/progress");
        let progress = match fetch_json(&state.http, &url, &token).await {
            Ok(v) => v,
            Err(e) => {
                service_error(&mut report, &format!("Canvas progress {course}/{user}"), e);
                continue;
            }
        };
        let completed_at = progress
            .get("completed_at")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let count = |k: &str| {
            progress
                .get(k)
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
        };
        let Some(completed_at) = completed_at else { continue };
        let event = CompletionEvent {
            // The key its course_completed Live Event would have had.
            external_id: format!("course_completed|{course}|{user}|{}", completed_at.to_rfc3339()),
            kind: EventKind::Completed,
            learner: Learner {
                lms_user_id: Some(user.clone()),
                ..Learner::default()
            },
            course_id: CourseId::parse(&course).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
            activity_id: None,
            completed_at: Some(completed_at),
            grade: None,
            progress: match (count("requirement_completed_count"), count("requirement_count")) {
                (Some(done), Some(total)) => Some(Progress { done, total }),
                _ => None,
            },
        };
        report.add(
            record_all(
                &mut conn,
                decisions::Origin {
                    source: "canvas",
                    tenant,
                },
                &[event],
            )
            .await?,
        );
    }
    if report.awards_requested > 0 {
        state.relay.wake();
    }
    Ok(report)
}

#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    course_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lms_user_id: Option<String>,
}

async fn fetch_json(http: &akashi_net::PolicedClient, url: &str, token: &str) -> Result<Value, ServiceError> {
    let response = http
        .get(url)
        .map_err(|e| ServiceError::Transport(e.to_string()))?
        .bearer_auth(token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ServiceError::Transport(akashi_net::describe_for_caller(&e)))?;
    if !response.status().is_success() {
        return Err(ServiceError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    response.json().await.map_err(|e| ServiceError::Format(e.to_string()))
}

/// The background loop: every `interval`, reconcile Canvas and sync every
/// LTI platform's contexts.
pub async fn run_loop(state: AppState, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await; // the first tick is immediate; let the service start first
    loop {
        ticker.tick().await;
        match reconcile_canvas(&state).await {
            Ok(r) if r.events_recorded > 0 => tracing::info!(
                events = r.events_recorded,
                awards = r.awards_requested,
                "Canvas reconciliation found lost completions"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("Canvas reconciliation failed: {e}"),
        }
        let platforms: Result<Vec<PlatformRow>, ApiError> = async {
            let mut conn = akashi_db::conn(&state.pool).await?;
            Ok(lti_platforms::table
                .select(PlatformRow::as_select())
                .load(&mut conn)
                .await?)
        }
        .await;
        for platform in platforms.unwrap_or_default() {
            if let Err(e) = sync_platform(&state, &platform, None).await {
                tracing::warn!(platform = %platform.id, "LTI sync failed: {e}");
            }
        }
    }
}

/// A platform by id.
pub async fn platform(conn: &mut AsyncPgConnection, id: Uuid) -> Result<PlatformRow, ApiError> {
    lti_platforms::table
        .find(id)
        .select(PlatformRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such LTI platform".into()))
}
