//! The lms-adapter's HTTP API: webhooks (signed per source) and admin endpoints.

pub mod events;
pub mod learners;
pub mod rules;
pub mod sources;
pub mod webhooks;

use actix_web::web;
use utoipa::OpenApi;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(webhooks::receive)
        .service(rules::create_rule)
        .service(rules::list_rules)
        .service(sources::put_source)
        .service(sources::list_sources)
        .service(events::list_events)
        .service(learners::put_learners)
        .service(learners::list_learners);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Akashi lms-adapter",
        description = "LMS webhooks and completion rules. Admin endpoints take `Authorization: Bearer <token>`."
    ),
    paths(
        webhooks::receive,
        rules::create_rule,
        rules::list_rules,
        sources::put_source,
        sources::list_sources,
        events::list_events,
        learners::put_learners,
        learners::list_learners
    ),
    components(schemas(
        webhooks::Accepted,
        crate::decisions::EventOutcome,
        learners::LearnerEntry,
        learners::LearnerBatch,
        learners::LearnerBatchResult,
        learners::LearnerView,
        rules::NewRule,
        rules::RuleView,
        sources::SourceSecrets,
        sources::SourceView,
        events::EventView,
    ))
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
