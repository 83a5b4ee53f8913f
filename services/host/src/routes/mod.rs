//! Host's public routes: the contract's OB 2.0 paths.

pub mod blockcerts;
pub mod ob2;

use actix_web::web;
use utoipa::OpenApi;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ob2::assertion)
        .service(ob2::badge_class)
        .service(ob2::badge_image)
        .service(ob2::issuer)
        .service(ob2::ob3_issuer)
        .service(ob2::revocation_list)
        .service(ob2::signed_assertion)
        .service(ob2::key)
        .service(ob2::ob3_credential)
        .service(ob2::ob3_revocation_list)
        .service(ob2::status_list)
        .service(blockcerts::revocation_list)
        .service(blockcerts::issuer)
        .service(blockcerts::certificate);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Akashi host",
        description = "Stable public URLs of Open Badges documents. Every document's `id` is the URL it is served at."
    ),
    paths(
        ob2::assertion,
        ob2::badge_class,
        ob2::badge_image,
        ob2::issuer,
        ob2::ob3_issuer,
        ob2::revocation_list,
        ob2::signed_assertion,
        ob2::key,
        ob2::ob3_credential,
        ob2::ob3_revocation_list,
        ob2::status_list,
        blockcerts::certificate,
        blockcerts::issuer,
        blockcerts::revocation_list,
    )
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
