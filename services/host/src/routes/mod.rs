//! Host's public routes: the contract's hosted documents, earners'
//! backpacks, and the 1EdTech OB 3.0 API.

pub mod backpack;
pub mod badge_connect;
pub mod blockcerts;
pub mod import;
pub mod ob2;
pub mod ob3_api;

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
        .service(blockcerts::certificate)
        .service(backpack::signin_form)
        .service(backpack::signin_request)
        // Before `/signin/{token}`, which would otherwise take "lti" for a token.
        .service(backpack::signin_lti)
        .service(backpack::signin_lti_confirm)
        .service(backpack::signin_confirm)
        .service(backpack::signin_complete)
        .service(backpack::signout)
        .service(backpack::backpack)
        .service(backpack::backpack_json)
        .service(backpack::visibility_form)
        .service(backpack::visibility_json)
        .service(backpack::profile_form)
        .service(backpack::create_collection)
        .service(import::import)
        .service(backpack::collection_page)
        .service(backpack::profile_page)
        .service(ob3_api::discovery)
        .service(ob3_api::register)
        .service(ob3_api::authorize)
        .service(ob3_api::authorize_decision)
        .service(ob3_api::token_endpoint)
        .service(ob3_api::get_credentials)
        .service(ob3_api::post_credential)
        .service(ob3_api::get_profile)
        .service(ob3_api::put_profile)
        .service(badge_connect::manifest)
        .service(badge_connect::get_assertions)
        .service(badge_connect::post_assertion)
        .service(badge_connect::get_profile)
        .service(badge_connect::post_profile);
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
        backpack::signin_form,
        backpack::signin_request,
        backpack::signin_lti,
        backpack::signin_lti_confirm,
        backpack::signin_confirm,
        backpack::signin_complete,
        backpack::signout,
        backpack::backpack,
        backpack::backpack_json,
        backpack::visibility_form,
        backpack::visibility_json,
        backpack::profile_form,
        backpack::create_collection,
        import::import,
        backpack::collection_page,
        backpack::profile_page,
        ob3_api::discovery,
        ob3_api::register,
        ob3_api::authorize,
        ob3_api::authorize_decision,
        ob3_api::token_endpoint,
        ob3_api::get_credentials,
        ob3_api::post_credential,
        ob3_api::get_profile,
        ob3_api::put_profile,
        badge_connect::manifest,
        badge_connect::get_assertions,
        badge_connect::post_assertion,
        badge_connect::get_profile,
        badge_connect::post_profile,
    ),
    components(schemas(
        backpack::BackpackBadge,
        backpack::Visibility,
        backpack::NewCollection,
        backpack::CollectionCreated
    ))
)]
struct ApiDoc;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises")
}
