//! Admin authentication: `Authorization: Bearer <token>` with scopes.
//!
//! The bootstrap token comes from configuration (`AKASHI_ADMIN_TOKEN`) and
//! holds every scope. Other tokens are minted by the issuer's admin API,
//! stored as SHA-256 hashes (`admin_tokens`), and reach the other services
//! as `admin.token.created` messages, which carry only the hash.
//!
//! A token may be bound to one issuer organization (tenant): it then sees
//! only that tenant's data, and other tenants' resources answer 404, so that
//! their existence does not leak.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use akashi_crypto::token::{constant_time_eq, hash_token};
use akashi_db::PgPool;
use akashi_model::messages::AdminTokenCreated;

use crate::ApiError;

/// The `admin_tokens` table, to run beside a service's own migrations.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::table! {
    /// Hashed admin tokens.
    admin_tokens (id) {
        id -> Uuid,
        token_hash -> Text,
        name -> Text,
        scopes -> Array<Text>,
        issuer_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (the bootstrap token).
    All,
    IssuersRead,
    IssuersWrite,
    BadgesWrite,
    AwardsRead,
    AwardsWrite,
    RulesRead,
    RulesWrite,
    SourcesWrite,
    EventsRead,
    TokensWrite,
    /// The verifier's API clients (HR systems' keys and rate limits).
    ApiClientsWrite,
    /// Outgoing event subscriptions (webhooks to HR systems, SIS, …).
    SubscriptionsWrite,
}

impl Scope {
    /// Every scope, for validation and documentation.
    pub const ALL: [Scope; 13] = [
        Scope::All,
        Scope::IssuersRead,
        Scope::IssuersWrite,
        Scope::BadgesWrite,
        Scope::AwardsRead,
        Scope::AwardsWrite,
        Scope::RulesRead,
        Scope::RulesWrite,
        Scope::SourcesWrite,
        Scope::EventsRead,
        Scope::TokensWrite,
        Scope::ApiClientsWrite,
        Scope::SubscriptionsWrite,
    ];

    /// The scope's name in tokens and documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "admin",
            Scope::IssuersRead => "issuers:read",
            Scope::IssuersWrite => "issuers:write",
            Scope::BadgesWrite => "badges:write",
            Scope::AwardsRead => "awards:read",
            Scope::AwardsWrite => "awards:write",
            Scope::RulesRead => "rules:read",
            Scope::RulesWrite => "rules:write",
            Scope::SourcesWrite => "sources:write",
            Scope::EventsRead => "events:read",
            Scope::TokensWrite => "tokens:write",
            Scope::ApiClientsWrite => "api-clients:write",
            Scope::SubscriptionsWrite => "subscriptions:write",
        }
    }

    /// Parses a scope name.
    pub fn parse(raw: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A tenant role: a named set of scopes, what the console and most admins
/// mint instead of picking scopes one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything in the tenant, including its tokens and issuer profile.
    Owner,
    /// Badge classes, rules, awards, LMS sources; not tokens or the issuer.
    Editor,
    /// Reads everything, changes nothing.
    Viewer,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a role name.
    pub fn parse(raw: &str) -> Option<Role> {
        [Role::Owner, Role::Editor, Role::Viewer]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }

    /// The scopes the role grants.
    pub fn scopes(self) -> Vec<Scope> {
        let viewer = [
            Scope::IssuersRead,
            Scope::AwardsRead,
            Scope::RulesRead,
            Scope::EventsRead,
        ];
        let editor = [
            Scope::BadgesWrite,
            Scope::AwardsWrite,
            Scope::RulesWrite,
            Scope::SourcesWrite,
        ];
        let owner = [
            Scope::IssuersWrite,
            Scope::TokensWrite,
            Scope::ApiClientsWrite,
            Scope::SubscriptionsWrite,
        ];
        match self {
            Role::Viewer => viewer.to_vec(),
            Role::Editor => [viewer.as_slice(), &editor].concat(),
            Role::Owner => [viewer.as_slice(), &editor, &owner].concat(),
        }
    }
}

/// What the presented token allows.
#[derive(Debug, Clone)]
pub struct Grant {
    pub token_id: Option<Uuid>,
    pub scopes: Vec<String>,
    /// `None`: platform-wide. `Some`: only this issuer organization.
    pub issuer_id: Option<Uuid>,
}

impl Grant {
    /// 403 unless the token holds `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self
            .scopes
            .iter()
            .any(|s| s == scope.as_str() || s == Scope::All.as_str())
        {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token lacks the scope {}",
                scope.as_str()
            )))
        }
    }

    /// 403 unless the token holds one of `scopes` (a read endpoint also
    /// open to the matching write scope, say).
    pub fn require_any(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        match scopes.iter().find(|s| self.holds(**s)) {
            Some(_) => Ok(()),
            None => Err(ApiError::Forbidden(format!(
                "this token lacks the scope {}",
                scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
            ))),
        }
    }

    /// Whether the token holds `scope` (or `admin`).
    pub fn holds(&self, scope: Scope) -> bool {
        self.require(scope).is_ok()
    }

    /// 404 if the token is bound to another tenant than `issuer_id`.
    pub fn require_issuer(&self, issuer_id: Uuid) -> Result<(), ApiError> {
        match self.issuer_id {
            Some(own) if own != issuer_id => Err(ApiError::NotFound("no such issuer".into())),
            _ => Ok(()),
        }
    }

    /// Whether the token is platform-wide.
    pub fn is_platform(&self) -> bool {
        self.issuer_id.is_none()
    }
}

/// The state the [`Grant`] extractor needs (register as `web::Data`).
#[derive(Clone)]
pub struct AdminAuth {
    bootstrap: Option<SecretString>,
    pool: PgPool,
}

impl AdminAuth {
    /// Authentication against `bootstrap` and the `admin_tokens` table of `pool`.
    pub fn new(bootstrap: Option<SecretString>, pool: PgPool) -> Self {
        Self { bootstrap, pool }
    }

    async fn authenticate(&self, token: &str) -> Result<Grant, ApiError> {
        if let Some(bootstrap) = &self.bootstrap
            && !bootstrap.expose_secret().is_empty()
            && constant_time_eq(bootstrap.expose_secret(), token)
        {
            return Ok(Grant {
                token_id: None,
                scopes: vec![Scope::All.as_str().into()],
                issuer_id: None,
            });
        }
        let hash = hash_token(token);
        let mut conn = akashi_db::conn(&self.pool).await?;
        let row: Option<TokenRow> = admin_tokens::table
            .filter(admin_tokens::token_hash.eq(&hash))
            .select(TokenRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        match row {
            Some(t) if t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > Utc::now()) => Ok(Grant {
                token_id: Some(t.id),
                scopes: t.scopes,
                issuer_id: t.issuer_id,
            }),
            _ => Err(ApiError::Unauthorized(
                "the bearer token is unknown, expired or revoked".into(),
            )),
        }
    }
}

/// What authentication reads of a stored token.
#[derive(Queryable, Selectable)]
#[diesel(table_name = admin_tokens)]
struct TokenRow {
    id: Uuid,
    scopes: Vec<String>,
    issuer_id: Option<Uuid>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl FromRequest for Grant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let auth = req.app_data::<web::Data<AdminAuth>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let auth = auth.ok_or_else(|| ApiError::internal("AdminAuth is not registered"))?;
            let header = header.ok_or_else(|| ApiError::Unauthorized("an admin bearer token is required".into()))?;
            let token = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::Unauthorized("expected 'Authorization: Bearer <token>'".into()))?;
            auth.authenticate(token).await
        })
    }
}

/// A stored token as admins list it (never its hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_tokens)]
pub struct StoredToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub issuer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl StoredToken {
    /// The role whose scopes the token holds exactly, if any.
    pub fn role(&self) -> Option<Role> {
        [Role::Owner, Role::Editor, Role::Viewer].into_iter().find(|r| {
            let mut want: Vec<&str> = r.scopes().iter().map(|s| s.as_str()).collect();
            let mut have: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
            want.sort_unstable();
            have.sort_unstable();
            want == have
        })
    }
}

/// The tokens of one tenant (or every token, for `None`), newest first.
pub async fn list_tokens(conn: &mut AsyncPgConnection, tenant: Option<Uuid>) -> QueryResult<Vec<StoredToken>> {
    let mut q = admin_tokens::table
        .order(admin_tokens::created_at.desc())
        .limit(1000)
        .select(StoredToken::as_select())
        .into_boxed();
    if let Some(own) = tenant {
        q = q.filter(admin_tokens::issuer_id.eq(own));
    }
    q.load(conn).await
}

/// The tenant a stored token is bound to: `None` if there is no such
/// token, `Some(None)` for a platform-wide one.
pub async fn token_tenant(conn: &mut AsyncPgConnection, token_id: Uuid) -> QueryResult<Option<Option<Uuid>>> {
    admin_tokens::table
        .find(token_id)
        .select(admin_tokens::issuer_id)
        .first(conn)
        .await
        .optional()
}

/// Stores a token's hash (the issuer after minting, others from the bus).
pub async fn store_token(conn: &mut AsyncPgConnection, token: &AdminTokenCreated, name: &str) -> QueryResult<()> {
    diesel::insert_into(admin_tokens::table)
        .values((
            admin_tokens::id.eq(token.token_id),
            admin_tokens::token_hash.eq(&token.token_hash),
            admin_tokens::name.eq(name),
            admin_tokens::scopes.eq(&token.scopes),
            admin_tokens::issuer_id.eq(token.issuer_id),
            admin_tokens::expires_at.eq(token.expires_at),
        ))
        .on_conflict(admin_tokens::id)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a token revoked; answers whether it existed.
pub async fn revoke_token(conn: &mut AsyncPgConnection, token_id: Uuid) -> QueryResult<bool> {
    let n = diesel::update(admin_tokens::table.filter(admin_tokens::id.eq(token_id)))
        .set(admin_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Consumer of `admin.token.created` for services other than the issuer.
pub async fn consume_token_created(
    pool: PgPool,
    consumer: &'static str,
    message: akashi_bus::IncomingMessage,
) -> Result<(), akashi_bus::HandlerError> {
    use diesel_async::AsyncConnection;
    let created: AdminTokenCreated = message.data()?;
    let mut conn = akashi_db::conn(&pool)
        .await
        .map_err(akashi_bus::HandlerError::transient)?;
    let message_id = message.envelope.id;
    conn.transaction::<_, akashi_bus::HandlerError, _>(async |conn| {
        if akashi_bus::inbox::claim(conn, consumer, message_id).await? {
            store_token(conn, &created, "").await?;
        }
        Ok(())
    })
    .await
}

/// Consumer of `admin.token.revoked` for services other than the issuer.
pub async fn consume_token_revoked(
    pool: PgPool,
    message: akashi_bus::IncomingMessage,
) -> Result<(), akashi_bus::HandlerError> {
    let revoked: akashi_model::messages::AdminTokenRevoked = message.data()?;
    let mut conn = akashi_db::conn(&pool)
        .await
        .map_err(akashi_bus::HandlerError::transient)?;
    // Revoking twice is harmless, so no inbox entry is needed. A revocation
    // that overtakes its creation is retried until the creation has landed.
    if !revoke_token(&mut conn, revoked.token_id).await? {
        return Err(akashi_bus::HandlerError::transient(format!(
            "token {} not known yet",
            revoked.token_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scopes: &[&str], issuer: Option<Uuid>) -> Grant {
        Grant {
            token_id: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            issuer_id: issuer,
        }
    }

    #[test]
    fn scopes_gate_and_admin_holds_all() {
        assert!(grant(&["rules:write"], None).require(Scope::RulesWrite).is_ok());
        assert!(grant(&["rules:write"], None).require(Scope::BadgesWrite).is_err());
        assert!(grant(&["admin"], None).require(Scope::TokensWrite).is_ok());
    }

    #[test]
    fn tenant_bound_tokens_see_only_their_tenant() {
        let mine = Uuid::new_v4();
        let g = grant(&["admin"], Some(mine));
        assert!(g.require_issuer(mine).is_ok());
        assert!(matches!(g.require_issuer(Uuid::new_v4()), Err(ApiError::NotFound(_))));
        assert!(grant(&["admin"], None).require_issuer(Uuid::new_v4()).is_ok());
    }

    #[test]
    fn roles_nest_and_grant_no_more_than_they_say() {
        let viewer = Role::Viewer.scopes();
        let editor = Role::Editor.scopes();
        let owner = Role::Owner.scopes();
        assert!(viewer.iter().all(|s| editor.contains(s)) && editor.iter().all(|s| owner.contains(s)));
        assert!(!owner.contains(&Scope::All), "an owner is not a platform admin");
        assert!(!editor.contains(&Scope::TokensWrite) && !editor.contains(&Scope::IssuersWrite));
        assert!(viewer.iter().all(|s| s.as_str().ends_with(":read")));
        for r in [Role::Owner, Role::Editor, Role::Viewer] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("root"), None);
    }
}
