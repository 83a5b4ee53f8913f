//! Public keys of the platforms that sign to us (LTI platforms, Canvas Live
//! Events), fetched from their JWKS URLs and cached. A token with a `kid`
//! the cache does not know triggers one refetch — platforms rotate keys and
//! publish the next one ahead — but not more than once per
//! `min_refetch` per URL, so that made-up kids cannot make us hammer a
//! platform.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;

/// Why no key could be found.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the platform's JWKS could not be fetched: {0}")]
    Fetch(String),
    #[error("no key {0:?} in the platform's JWKS")]
    UnknownKid(String),
    #[error("key {0:?} in the platform's JWKS is not a usable RSA key")]
    BadKey(String),
}

struct CachedSet {
    fetched: Instant,
    keys: JwkSet,
}

/// The cache, shared by every request.
pub struct JwksCache {
    http: akashi_net::PolicedClient,
    sets: Mutex<HashMap<String, CachedSet>>,
    ttl: Duration,
    min_refetch: Duration,
}

/// Largest JWKS read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

impl JwksCache {
    /// A cache that keeps a key set for `ttl` and refetches on an unknown kid
    /// at most once per `min_refetch`.
    pub fn new(http: akashi_net::PolicedClient, ttl: Duration, min_refetch: Duration) -> Self {
        Self {
            http,
            sets: Mutex::new(HashMap::new()),
            ttl,
            min_refetch,
        }
    }

    /// The RSA key `kid` of the JWKS at `url`.
    pub async fn key(&self, url: &str, kid: &str) -> Result<DecodingKey, JwksError> {
        let refetch_allowed = {
            let sets = self.sets.lock().expect("jwks cache lock");
            match sets.get(url) {
                Some(set) if set.fetched.elapsed() < self.ttl => {
                    if let Some(found) = find(&set.keys, kid) {
                        return found;
                    }
                    set.fetched.elapsed() >= self.min_refetch
                }
                _ => true,
            }
        };
        if !refetch_allowed {
            return Err(JwksError::UnknownKid(kid.to_string()));
        }
        let keys = self.fetch(url).await?;
        let found = find(&keys, kid);
        self.sets.lock().expect("jwks cache lock").insert(
            url.to_string(),
            CachedSet {
                fetched: Instant::now(),
                keys,
            },
        );
        found.unwrap_or_else(|| Err(JwksError::UnknownKid(kid.to_string())))
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, JwksError> {
        let response = self
            .http
            .get(url)
            .map_err(|e| JwksError::Fetch(e.to_string()))?
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| JwksError::Fetch(akashi_net::describe_for_caller(&e)))?;
        if !response.status().is_success() {
            return Err(JwksError::Fetch(format!("{url} answered {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| JwksError::Fetch(e.to_string()))?;
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::Fetch(format!("{url} is over {MAX_JWKS_BYTES} bytes")));
        }
        serde_json::from_slice(&bytes).map_err(|e| JwksError::Fetch(format!("{url} is not a JWKS: {e}")))
    }
}

fn find(keys: &JwkSet, kid: &str) -> Option<Result<DecodingKey, JwksError>> {
    let jwk = keys.find(kid)?;
    Some(DecodingKey::from_jwk(jwk).map_err(|_| JwksError::BadKey(kid.to_string())))
}
