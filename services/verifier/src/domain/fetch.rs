//! Fetching documents as a third party, within the [`NetPolicy`]: http(s)
//! only, addresses checked after resolution, at most 5 redirects (each
//! checked), a time limit and a size limit per document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::domain::cache::{DocumentCache, Miss};
use akashi_net::{ClientOptions, NetPolicy, PolicyError};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// Documents one verification may ask for (cache hits included). The
/// deepest honest procedure (a signed OB 2.0 assertion with a key, badge
/// class, issuer, revocation list, then a fresh re-check) asks for about a
/// dozen; a profile listing hundreds of keys must not turn one `/verify`
/// into hundreds of outbound requests.
pub const MAX_FETCHES_PER_VERIFICATION: usize = 24;

/// Why a document could not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("refused by the address policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("timed out")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
    #[error("this verification already asked for {0} documents, its limit")]
    OverBudget(usize),
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Where the document was found, after redirects (`None`: where it was asked for).
    pub redirected_to: Option<url::Url>,
}

/// An HTTP client bound to the policy and limits.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<NetPolicy>,
    max_bytes: usize,
    timeout: Duration,
    cache: Option<DocumentCache>,
    /// Set when this fetcher (a verification's session) answered from the cache.
    used_cache: Arc<AtomicBool>,
    /// Documents this session has asked for (see [`MAX_FETCHES_PER_VERIFICATION`]).
    fetches: Arc<AtomicUsize>,
}

impl Fetcher {
    /// A fetcher applying `policy`, `timeout` and `max_bytes` to every document.
    pub fn new(policy: NetPolicy, timeout: Duration, max_bytes: usize) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let client = akashi_net::client(
            policy.clone(),
            ClientOptions {
                timeout,
                user_agent: concat!("akashi-verifier/", env!("CARGO_PKG_VERSION")),
                max_redirects: MAX_REDIRECTS,
            },
        )?;
        Ok(Self {
            client,
            policy,
            max_bytes,
            timeout,
            cache: None,
            used_cache: Arc::new(AtomicBool::new(false)),
            fetches: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// This fetcher for one verification: it remembers whether it answered
    /// from the cache.
    pub fn session(&self) -> Self {
        Self {
            used_cache: Arc::new(AtomicBool::new(false)),
            fetches: Arc::new(AtomicUsize::new(0)),
            ..self.clone()
        }
    }

    /// This fetcher without the cache.
    pub fn fresh(&self) -> Self {
        Self {
            cache: None,
            ..self.session()
        }
    }

    /// Whether this session answered anything from the cache.
    pub fn used_cache(&self) -> bool {
        self.used_cache.load(Ordering::Relaxed)
    }

    /// The same fetcher, answering from `cache` when it can.
    pub fn with_cache(mut self, cache: DocumentCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }

    /// GETs `url` asking for `accept` (from the cache, if there is one),
    /// reading at most the size limit.
    pub async fn get(&self, url: &url::Url, accept: &str) -> Result<Fetched, FetchError> {
        self.policy.check_url(url)?;
        if self.fetches.fetch_add(1, Ordering::Relaxed) >= MAX_FETCHES_PER_VERIFICATION {
            metrics::counter!("akashi_verifier_fetch_budget_exceeded_total").increment(1);
            return Err(FetchError::OverBudget(MAX_FETCHES_PER_VERIFICATION));
        }
        let Some(cache) = &self.cache else {
            return self.fetch(url, accept).await;
        };
        match cache.get_or_load(url, accept, self.fetch(url, accept)).await {
            Ok((document, hit)) => {
                if hit {
                    self.used_cache.store(true, Ordering::Relaxed);
                }
                Ok((*document).clone())
            }
            Err(Miss::Uncacheable(fetched)) => Ok(fetched),
            Err(Miss::Failed(e)) => Err(e),
        }
    }

    /// GETs `url` from the network.
    async fn fetch(&self, url: &url::Url, accept: &str) -> Result<Fetched, FetchError> {
        let work = async {
            let response = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(classify)?;
            let status = response.status().as_u16();
            let redirected_to = (response.url() != url).then(|| response.url().clone());
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if response.content_length().is_some_and(|n| n as usize > self.max_bytes) {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            let mut body = Vec::new();
            let mut response = response;
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(FetchError::TooLarge(self.max_bytes));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                status,
                content_type,
                body,
                redirected_to,
            })
        };
        // The client's timeout covers each request; this one bounds the whole
        // exchange, slow bodies included.
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout;
    }
    // Surface a policy refusal from the resolver or the redirect check as such.
    match akashi_net::policy_refusal(&e) {
        Some(refused) => FetchError::Policy(refused),
        None => FetchError::Network(e.to_string()),
    }
}
