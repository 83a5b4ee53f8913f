//! Fetching documents as a third party, within the [`NetPolicy`]: http(s)
//! only, addresses checked after resolution, at most 5 redirects (each
//! checked), a time limit and a size limit per document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::cache::{DocumentCache, Miss};
use crate::domain::net_policy::{NetPolicy, PolicyError};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

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
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

struct PolicyResolver {
    policy: Arc<NetPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.filter_resolved(&host, addrs)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
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
}

impl Fetcher {
    /// A fetcher applying `policy`, `timeout` and `max_bytes` to every document.
    pub fn new(policy: NetPolicy, timeout: Duration, max_bytes: usize) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            .dns_resolver(PolicyResolver { policy: policy.clone() })
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match redirect_policy.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("akashi-verifier/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            policy,
            max_bytes,
            timeout,
            cache: None,
            used_cache: Arc::new(AtomicBool::new(false)),
        })
    }

    /// This fetcher for one verification: it remembers whether it answered
    /// from the cache.
    pub fn session(&self) -> Self {
        Self {
            used_cache: Arc::new(AtomicBool::new(false)),
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
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(policy) = err.downcast_ref::<PolicyError>() {
            return FetchError::Policy(policy.clone());
        }
        source = err.source();
    }
    FetchError::Network(e.to_string())
}
