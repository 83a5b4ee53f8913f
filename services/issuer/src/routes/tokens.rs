//! Admin API tokens. The issuer mints them; the other services learn of them
//! through `admin.token.created` (which carries only the hash).

use actix_web::{HttpResponse, delete, get, post, web};
use akashi_bus::{Envelope, outbox};
use akashi_model::messages::{AdminTokenCreated, AdminTokenRevoked};
use akashi_runtime::admin::{self, Scope};
use akashi_runtime::http::RequestId;
use akashi_runtime::{ApiError, Grant, Role};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::routes::issuers::visible_issuer;
use crate::startup::AppState;

/// A token to mint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    #[schema(example = "moodle-sync")]
    pub name: String,
    /// e.g. `["rules:write", "awards:read"]`; `admin` is every scope.
    /// Give either scopes or a role.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `owner`, `editor` or `viewer`: the role's scopes (docs/api.md).
    pub role: Option<String>,
    /// Bind the token to one issuer organization (tenant).
    pub issuer_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A minted token; `token` is shown this once and never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: Uuid,
    pub token: String,
    pub scopes: Vec<String>,
    pub role: Option<String>,
    pub issuer_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Mints an admin token. A caller grants only scopes it holds itself, and a
/// tenant-bound caller only tokens bound to its own tenant.
#[utoipa::path(request_body = NewToken, responses((status = 201, body = CreatedToken), (status = 403), (status = 422)), security(("bearer" = [])))]
#[post("/admin/tokens")]
pub async fn create_token(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::TokensWrite)?;
    let mut body = body.into_inner();
    let role = match (&body.role, body.scopes.is_empty()) {
        (Some(_), false) => return Err(ApiError::invalid_field("give either scopes or a role, not both")),
        (None, true) => {
            return Err(ApiError::invalid_field(
                "scopes: at least one scope (or a role) is required",
            ));
        }
        (Some(name), true) => Some(Role::parse(name).ok_or_else(|| {
            ApiError::unprocessable("invalid_role", format!("role: {name:?} is not owner, editor or viewer"))
        })?),
        (None, false) => None,
    };
    if let Some(role) = role {
        body.scopes = role.scopes().iter().map(|s| s.as_str().to_string()).collect();
    }
    for raw in &body.scopes {
        let scope = Scope::parse(raw)
            .ok_or_else(|| ApiError::unprocessable("invalid_scope", format!("scopes: unknown scope {raw:?}")))?;
        if !grant.holds(scope) {
            return Err(ApiError::Forbidden(format!(
                "a token cannot grant the scope {raw}, which it does not hold"
            )));
        }
    }
    let issuer_id = match (grant.issuer_id, body.issuer_id) {
        (Some(own), None) => Some(own),
        (Some(own), Some(asked)) if own != asked => return Err(ApiError::NotFound("no such issuer".into())),
        (_, asked) => asked,
    };
    if let Some(id) = issuer_id {
        visible_issuer(&state, &grant, id).await?;
    }
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::invalid_field("expires_at: must be in the future"));
    }
    let secret = akashi_crypto::token::generate_token();
    let created = AdminTokenCreated {
        token_id: Uuid::now_v7(),
        token_hash: akashi_crypto::token::hash_token(&secret),
        scopes: body.scopes.clone(),
        issuer_id,
        expires_at: body.expires_at,
    };
    let message = Envelope::new(crate::SERVICE, created.clone(), Some(request_id.0));
    let name = body.name.trim().to_string();
    let mut conn = akashi_db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        admin::store_token(conn, &created, &name).await?;
        outbox::enqueue(conn, &message).await.map_err(ApiError::internal)?;
        Ok(())
    })
    .await?;
    state.relay.wake();
    Ok(HttpResponse::Created().json(CreatedToken {
        id: created.token_id,
        token: secret,
        scopes: created.scopes,
        role: role.map(|r| r.as_str().to_string()),
        issuer_id,
        expires_at: created.expires_at,
    }))
}

/// A token as listed (never the token or its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    /// The role whose scopes it holds exactly, if any.
    pub role: Option<String>,
    pub issuer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Lists tokens: a tenant's own for a tenant-bound caller, every token for
/// a platform one.
#[utoipa::path(responses((status = 200, body = [TokenView]), (status = 403)), security(("bearer" = [])))]
#[get("/admin/tokens")]
pub async fn list_tokens(state: web::Data<AppState>, grant: Grant) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::TokensWrite)?;
    let mut conn = akashi_db::conn(&state.pool).await?;
    let tokens = admin::list_tokens(&mut conn, grant.issuer_id).await?;
    let views: Vec<TokenView> = tokens
        .into_iter()
        .map(|t| TokenView {
            role: t.role().map(|r| r.as_str().to_string()),
            id: t.id,
            name: t.name,
            scopes: t.scopes,
            issuer_id: t.issuer_id,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Revokes a token everywhere. A tenant's owner revokes its own tenant's
/// tokens; platform-wide tokens are revoked by a platform token only.
#[utoipa::path(responses((status = 204), (status = 404)), security(("bearer" = [])))]
#[delete("/admin/tokens/{token_id}")]
pub async fn revoke_token(
    state: web::Data<AppState>,
    grant: Grant,
    request_id: RequestId,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    grant.require(Scope::TokensWrite)?;
    let token_id = path.into_inner();
    let message = Envelope::new(crate::SERVICE, AdminTokenRevoked { token_id }, Some(request_id.0));
    let mut conn = akashi_db::conn(&state.pool).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let not_found = || ApiError::NotFound("no such token".into());
        let tenant = admin::token_tenant(conn, token_id).await?.ok_or_else(not_found)?;
        // Another tenant's token, or a platform one, is not this tenant's to see.
        if let Some(own) = grant.issuer_id
            && tenant != Some(own)
        {
            return Err(not_found());
        }
        admin::revoke_token(conn, token_id).await?;
        outbox::enqueue(conn, &message).await.map_err(ApiError::internal)?;
        Ok(())
    })
    .await?;
    state.relay.wake();
    Ok(HttpResponse::NoContent().finish())
}
