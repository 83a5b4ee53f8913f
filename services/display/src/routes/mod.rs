//! Display's public pages.

pub mod badge_page;
pub mod baked;
pub mod verify_page;

use actix_web::web;
use utoipa::OpenApi;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(badge_page::page_script)
        .service(baked::share_card)
        .service(badge_page::badge_page)
        .service(badge_page::verification_report)
        .service(badge_page::blockcerts_download)
        .service(badge_page::certificate_pdf)
        .service(badge_page::embed)
        .service(baked::baked_png)
        .service(baked::baked_svg)
        .service(verify_page::verify_form)
        .service(verify_page::verify_submit);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Akashi display",
        description = "Human pages for badges, in Japanese and English."
    ),
    paths(
        badge_page::badge_page,
        badge_page::page_script,
        baked::share_card,
        badge_page::verification_report,
        badge_page::blockcerts_download,
        badge_page::certificate_pdf,
        badge_page::embed,
        baked::baked_png,
        baked::baked_svg,
        verify_page::verify_form,
        verify_page::verify_submit,
    )
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
