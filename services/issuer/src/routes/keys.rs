//! Public keys (JWKS, one JWK by its `kid` URI) and key rotation.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use akashi_crypto::keys::RsaBits;
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Scope};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::SigningKeyRow;
use crate::db::schema::{issuers, signing_keys};
use crate::domain::keyring::KeyAlgorithm;
use crate::keys::{active_key, all_keys, publish_issuer};
use crate::routes::issuers::visible_issuer;
use crate::startup::AppState;

/// A public key with its validity window.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedJwk {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    pub valid_from: DateTime<Utc>,
    /// Set once the key is retired; it still verifies what it signed before.
    pub valid_until: Option<DateTime<Utc>>,
}

/// A JSON Web Key Set.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<PublishedJwk>,
}

fn published(k: SigningKeyRow) -> PublishedJwk {
    PublishedJwk {
        jwk: k.public_jwk,
        valid_from: k.valid_from,
        valid_until: k.valid_until,
    }
}

fn public_json(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(body)
}

/// The issuer's public keys, retired ones included, with validity windows.
#[utoipa::path(responses((status = 200, body = Jwks), (status = 404)))]
#[get("/issuers/{issuer_id}/jwks")]
pub async fn jwks(state: web::Data<AppState>, path: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
    let issuer_id = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let exists: i64 = issuers::table
        .filter(issuers::id.eq(issuer_id))
        .count()
        .get_result(&mut conn)
        .await?;
    if exists == 0 {
        return Err(ApiError::NotFound("no such issuer".into()));
    }
    let keys = all_keys(&mut conn, issuer_id).await?;
    Ok(public_json(Jwks {
        keys: keys.into_iter().map(published).collect(),
    }))
}

/// One public key: what a VC-JWT's `kid` dereferences to.
#[utoipa::path(responses((status = 200, body = PublishedJwk), (status = 404)))]
#[get("/issuers/{issuer_id}/keys/{key_id}")]
pub async fn key(state: web::Data<AppState>, path: web::Path<(Uuid, Uuid)>) -> Result<HttpResponse, ApiError> {
    let (issuer_id, key_id) = path.into_inner();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let key: SigningKeyRow = signing_keys::table
        .filter(signing_keys::id.eq(key_id).and(signing_keys::issuer_id.eq(issuer_id)))
        .select(SigningKeyRow::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(|| ApiError::NotFound("no such key".into()))?;
    Ok(public_json(published(key)))
}

/// Options of a rotation (the body may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Rotation {
    /// Modulus size of the new RSA key: 2048 (default) or 3072.
    pub rsa_bits: Option<u32>,
}

/// Retires the issuer's signing keys (RSA and Ed25519) and starts new ones.
/// Retired keys stay published with their validity windows, so that what
/// they signed still verifies.
#[utoipa::path(
    request_body(content = Option<Rotation>, description = "optional; empty body = RSA-2048"),
    responses((status = 200, body = Jwks), (status = 404), (status = 422, description = "unsupported rsa_bits")),
    security(("bearer" = [])),
)]
#[post("/admin/issuers/{issuer_id}/keys/rotate")]
pub async fn rotate(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::IssuersWrite)?;
    let rotation: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::unprocessable("invalid_json", e.to_string()))?
    };
    let rsa_bits = match rotation.rsa_bits {
        None => RsaBits::default(),
        Some(bits) => RsaBits::from_bits(bits)
            .ok_or_else(|| ApiError::invalid_field(format!("rsa_bits: 2048 or 3072, not {bits}")))?,
    };
    let issuer = visible_issuer(&state, &grant, path.into_inner()).await?;
    let now = Utc::now();
    let mut new_keys = Vec::new();
    for algorithm in KeyAlgorithm::ROTATED {
        new_keys.push(
            state
                .keyring
                .generate_sized(issuer.id, algorithm, rsa_bits, now, &state.links)
                .await
                .map_err(ApiError::internal)?,
        );
    }
    let links = state.links.clone();
    let mut conn = akashi_db::conn(&state.pool).await?;
    let keys = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // Lock the issuer row so that two rotations cannot interleave.
            issuers::table
                .find(issuer.id)
                .select(issuers::id)
                .for_update()
                .first::<Uuid>(conn)
                .await?;
            for algorithm in KeyAlgorithm::ROTATED {
                if let Some(old) = active_key(conn, issuer.id, algorithm).await? {
                    diesel::update(signing_keys::table.find(old.id))
                        .set(signing_keys::valid_until.eq(now))
                        .execute(conn)
                        .await?;
                }
            }
            diesel::insert_into(signing_keys::table)
                .values(&new_keys)
                .execute(conn)
                .await?;
            publish_issuer(conn, &issuer, &links, Some(request_id.0.clone()))
                .await
                .map_err(ApiError::internal)?;
            Ok(all_keys(conn, issuer.id).await?)
        })
        .await?;
    state.relay.wake();
    tracing::info!(issuer_id = %issuer.id, "signing keys rotated");
    Ok(HttpResponse::Ok().json(Jwks {
        keys: keys.into_iter().map(published).collect(),
    }))
}
