//! Who may verify, and how often: API keys per client (an HR system), each
//! with its own rate limit, and a per-address limit for anonymous callers
//! (the public page, a curious visitor). A key is read from `X-Api-Key` or
//! `Authorization: Bearer`; only its SHA-256 is stored.
//!
//! Keys are looked up in the database and remembered for a short while, so
//! that a revocation reaches every replica within [`KEY_CACHE_TTL`]; the
//! replica that revokes forgets the key at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpRequest;
use akashi_db::PgPool;
use akashi_runtime::ApiError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::db::api_clients;

/// How long a key lookup is reused.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// A client known by its key.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: Uuid,
    pub rate_per_minute: u32,
}

/// Who is calling, once admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Client(Uuid),
    Anonymous,
}

impl Caller {
    /// The client id for the audit trail.
    pub fn client_id(self) -> Option<Uuid> {
        match self {
            Caller::Client(id) => Some(id),
            Caller::Anonymous => None,
        }
    }
}

/// Admission control for `/verify` and `/verify/batch`.
pub struct Admission {
    pool: PgPool,
    keys: moka::future::Cache<String, Option<Client>>,
    limiters: Mutex<HashMap<Uuid, Arc<DefaultDirectRateLimiter>>>,
    anonymous: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Made once: creating a clock probes the CPU (it showed as 6% of a
    /// loaded verifier's time when made per request).
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

/// The key a request presents, if any.
fn presented_key(req: &HttpRequest) -> Option<String> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    header("x-api-key")
        .map(str::to_owned)
        .or_else(|| {
            header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        })
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
}

impl Admission {
    /// Admission with `anonymous_per_minute` per address for callers
    /// without a key (0: a key is required).
    pub fn new(pool: PgPool, anonymous_per_minute: u32) -> Self {
        Self {
            pool,
            keys: moka::future::Cache::builder()
                .time_to_live(KEY_CACHE_TTL)
                .max_capacity(100_000)
                .build(),
            limiters: Mutex::new(HashMap::new()),
            anonymous: (anonymous_per_minute > 0).then(|| RateLimiter::keyed(per_minute(anonymous_per_minute))),
            clock: DefaultClock::default(),
        }
    }

    async fn client(&self, key: &str) -> Result<Option<Client>, ApiError> {
        let hash = akashi_crypto::token::hash_token(key);
        let pool = self.pool.clone();
        let lookup_hash = hash.clone();
        self.keys
            .try_get_with(hash, async move {
                let mut conn = akashi_db::conn(&pool).await?;
                let row: Option<(Uuid, i32)> = api_clients::table
                    .filter(
                        api_clients::key_hash
                            .eq(&lookup_hash)
                            .and(api_clients::revoked_at.is_null()),
                    )
                    .select((api_clients::id, api_clients::rate_per_minute))
                    .first(&mut conn)
                    .await
                    .optional()?;
                Ok::<_, ApiError>(row.map(|(id, rate)| Client {
                    id,
                    rate_per_minute: rate.max(1) as u32,
                }))
            })
            .await
            .map_err(|e| ApiError::Unavailable(format!("API key lookup: {e}")))
    }

    /// Admits a request worth `cost` verifications, or answers 401/429.
    pub async fn admit(&self, req: &HttpRequest, cost: u32) -> Result<Caller, ApiError> {
        let cost = NonZeroU32::new(cost.max(1)).expect("at least one");
        let refuse = |not_until: governor::NotUntil<governor::clock::QuantaInstant>, who: &str| {
            let wait = not_until.wait_time_from(self.clock.now());
            metrics::counter!("akashi_verifier_rate_limited_total", "caller" => who.to_string()).increment(1);
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + 1,
                message: format!("rate limit reached; retry in {} s", wait.as_secs() + 1),
            }
        };
        let too_large = |rate: u32| ApiError::TooManyRequests {
            retry_after_secs: 60,
            message: format!("a batch of {cost} is more than this caller's limit of {rate} a minute"),
        };
        match presented_key(req) {
            Some(key) => {
                let client = self
                    .client(&key)
                    .await?
                    .ok_or_else(|| ApiError::Unauthorized("the API key is unknown or revoked".into()))?;
                let limiter = self
                    .limiters
                    .lock()
                    .expect("limiters lock")
                    .entry(client.id)
                    .or_insert_with(|| Arc::new(RateLimiter::direct(per_minute(client.rate_per_minute))))
                    .clone();
                match limiter.check_n(cost) {
                    Ok(Ok(())) => Ok(Caller::Client(client.id)),
                    Ok(Err(not_until)) => Err(refuse(not_until, "client")),
                    Err(_) => Err(too_large(client.rate_per_minute)),
                }
            }
            None => {
                let Some(anonymous) = &self.anonymous else {
                    return Err(ApiError::Unauthorized(
                        "an API key is required (X-Api-Key or Authorization: Bearer)".into(),
                    ));
                };
                let ip = req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
                match anonymous.check_key_n(&ip, cost) {
                    Ok(Ok(())) => Ok(Caller::Anonymous),
                    Ok(Err(not_until)) => Err(refuse(not_until, "anonymous")),
                    Err(_) => Err(ApiError::TooManyRequests {
                        retry_after_secs: 60,
                        message: format!("a batch of {cost} is more than the anonymous limit; use an API key"),
                    }),
                }
            }
        }
    }

    /// Forgets a revoked client here at once (other replicas within [`KEY_CACHE_TTL`]).
    pub fn forget(&self, id: Uuid) {
        self.keys.invalidate_all();
        self.limiters.lock().expect("limiters lock").remove(&id);
    }

    /// Drops the state of anonymous addresses not seen lately.
    pub fn prune(&self) {
        if let Some(anonymous) = &self.anonymous {
            anonymous.retain_recent();
        }
    }
}
