//! The lms-adapter's HTTP API: webhooks (signed per source) and admin endpoints.

pub mod events;
pub mod learners;
pub mod lti;
pub mod platforms;
pub mod retroactive;
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
        .service(rules::get_rule)
        .service(rules::update_rule)
        .service(rules::list_versions)
        .service(rules::list_progress)
        .service(rules::review_decision)
        .service(rules::put_attributes)
        .service(sources::put_source)
        .service(sources::list_sources)
        .service(events::list_events)
        .service(learners::put_learners)
        .service(learners::list_learners)
        .service(lti::login_get)
        .service(lti::login_post)
        .service(lti::launch_post)
        .service(lti::deep_link_post)
        .service(lti::tool_jwks)
        .service(lti::register_get)
        .service(lti::storage_script)
        .service(lti::registered_script)
        .service(platforms::create_platform)
        .service(platforms::update_platform)
        .service(platforms::list_platforms)
        .service(platforms::delete_platform)
        .service(platforms::create_registration_link)
        .service(platforms::sync_now)
        .service(platforms::list_contexts)
        .service(platforms::rotate_key)
        .service(platforms::reconcile_canvas)
        .service(retroactive::dry_run)
        .service(retroactive::apply)
        .service(retroactive::explain_learner)
        .service(retroactive::list_decisions);
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
        rules::get_rule,
        rules::update_rule,
        rules::list_versions,
        rules::list_progress,
        rules::review_decision,
        rules::put_attributes,
        sources::put_source,
        sources::list_sources,
        events::list_events,
        learners::put_learners,
        learners::list_learners,
        lti::login_get,
        lti::login_post,
        lti::launch_post,
        lti::deep_link_post,
        lti::tool_jwks,
        lti::register_get,
        lti::storage_script,
        lti::registered_script,
        platforms::create_platform,
        platforms::update_platform,
        platforms::list_platforms,
        platforms::delete_platform,
        platforms::create_registration_link,
        platforms::sync_now,
        platforms::list_contexts,
        platforms::rotate_key,
        platforms::reconcile_canvas,
        retroactive::dry_run,
        retroactive::apply,
        retroactive::explain_learner,
        retroactive::list_decisions
    ),
    components(schemas(
        webhooks::Accepted,
        crate::decisions::EventOutcome,
        learners::LearnerEntry,
        learners::LearnerBatch,
        learners::LearnerBatchResult,
        learners::LearnerView,
        platforms::NewPlatform,
        platforms::PlatformView,
        platforms::ToolUrls,
        platforms::NewRegistrationLink,
        platforms::RegistrationLink,
        platforms::SyncRequest,
        platforms::ContextView,
        platforms::RotatedKey,
        crate::sync::SyncReport,
        retroactive::Evaluation,
        retroactive::WouldAward,
        retroactive::WouldNot,
        retroactive::Explanation,
        retroactive::EventSeen,
        rules::RuleChange,
        rules::RuleVersionView,
        rules::ProgressView,
        rules::Review,
        rules::LearnerAttributesBody,
        retroactive::DecisionView,
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
