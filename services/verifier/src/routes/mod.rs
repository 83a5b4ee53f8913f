//! The verifier's HTTP API.

pub mod api_clients;
pub mod verify;

use actix_web::web;
use utoipa::OpenApi;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(verify::verify)
        .service(verify::verify_batch)
        .service(api_clients::create_client)
        .service(api_clients::list_clients)
        .service(api_clients::revoke_client);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Akashi verifier",
        description = "Verifies a badge as an outside party would and answers a report of every check, with reasons in English and Japanese."
    ),
    paths(
        verify::verify,
        verify::verify_batch,
        api_clients::create_client,
        api_clients::list_clients,
        api_clients::revoke_client
    ),
    components(schemas(
        verify::VerifyRequest,
        verify::BatchRequest,
        verify::BatchResponse,
        api_clients::NewClient,
        api_clients::ClientView,
        api_clients::CreatedClient,
        crate::domain::report::Report,
        crate::domain::report::Check,
        crate::domain::report::Status,
        crate::domain::report::Outcome,
        crate::domain::report::Reason,
        crate::domain::report::IssuerSummary,
        crate::domain::report::BadgeSummary,
        crate::domain::report::RecipientMatch,
    ))
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
