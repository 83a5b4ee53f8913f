//! The issuer's HTTP API: the admin endpoints (bearer token with scopes).

pub mod admin_awards;
pub mod awards;
pub mod badge_classes;
pub mod dead_letters;
pub mod issuers;
pub mod keys;
pub mod presentation;
pub mod tokens;

use actix_web::web;
use utoipa::OpenApi;

use crate::subscriptions::routes as subscriptions;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(issuers::create_issuer)
        .service(issuers::list_issuers)
        .service(issuers::get_issuer)
        .service(badge_classes::create_badge_class)
        .service(badge_classes::list_badge_classes)
        .service(badge_classes::get_badge_class)
        .service(presentation::put_presentation)
        .service(presentation::get_presentation)
        .service(badge_classes::put_translation)
        .service(badge_classes::delete_translation)
        .service(awards::lookup_awards)
        .service(awards::revoke_award)
        .service(awards::resend_mail)
        .service(admin_awards::create_award)
        .service(admin_awards::reissue_award)
        .service(admin_awards::bulk_award)
        .service(keys::jwks)
        .service(keys::key)
        .service(keys::rotate)
        .service(tokens::create_token)
        .service(tokens::list_tokens)
        .service(tokens::revoke_token)
        .service(dead_letters::list_dead_letters)
        .service(dead_letters::handle_dead_letter)
        .service(subscriptions::create_subscription)
        .service(subscriptions::list_subscriptions)
        .service(subscriptions::get_subscription)
        .service(subscriptions::change_subscription)
        .service(subscriptions::delete_subscription)
        .service(subscriptions::rotate_secret)
        .service(subscriptions::list_deliveries)
        .service(subscriptions::replay)
        .service(asyncapi);
}

/// The AsyncAPI 3.0 document of the events sent to subscribers (also
/// `docs/asyncapi.json`).
#[actix_web::get("/asyncapi.json")]
pub async fn asyncapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("../../../../docs/asyncapi.json"))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Akashi issuer", description = "Issuer organizations, badge classes, awards, admin tokens and outgoing event subscriptions (Standard Webhooks; the events are described by the AsyncAPI document at /asyncapi.json). Admin endpoints take `Authorization: Bearer <token>`."),
    paths(
        issuers::create_issuer, issuers::list_issuers, issuers::get_issuer,
        presentation::put_presentation, presentation::get_presentation,
        badge_classes::create_badge_class, badge_classes::list_badge_classes, badge_classes::get_badge_class,
        badge_classes::put_translation, badge_classes::delete_translation,
        awards::lookup_awards, awards::revoke_award, awards::resend_mail,
        admin_awards::create_award, admin_awards::bulk_award, admin_awards::reissue_award,
        keys::jwks, keys::key, keys::rotate,
        tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        dead_letters::list_dead_letters, dead_letters::handle_dead_letter,
        subscriptions::create_subscription, subscriptions::list_subscriptions, subscriptions::get_subscription,
        subscriptions::change_subscription, subscriptions::delete_subscription, subscriptions::rotate_secret,
        subscriptions::list_deliveries, subscriptions::replay,
    ),
    components(schemas(
        issuers::NewIssuer, issuers::IssuerView,
        presentation::PresentationRequest, presentation::SignatoryRequest, presentation::PresentationView,
        badge_classes::NewBadgeClass, badge_classes::BadgeClassView, crate::domain::languages::BadgeTexts,
        awards::AwardView, awards::AwardList, awards::RevokeRequest,
        admin_awards::NewAward, admin_awards::NewRecipient, admin_awards::NewEvidence, admin_awards::AwardRequested,
        admin_awards::RowResult, admin_awards::BulkResult, admin_awards::Reissue,
        keys::Jwks, keys::PublishedJwk,
        tokens::NewToken, tokens::CreatedToken, tokens::TokenView,
        dead_letters::DeadLetterView, dead_letters::DeadLetterAction, dead_letters::DeadLetterCommand,
        subscriptions::NewSubscription, subscriptions::SubscriptionView, subscriptions::SubscriptionChange,
        subscriptions::Rotation, subscriptions::DeliveryView, subscriptions::AttemptView,
        subscriptions::Replay, subscriptions::Replayed,
    )),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
