//! A short-lived cache of fetched documents, shared by every verification
//! of this process. Issuer profiles, badge classes, keys and revocation
//! lists are fetched for every badge of an issuer; an HR system checking a
//! hundred candidates should not fetch them a hundred times.
//!
//! Staleness is bounded twice: every entry expires after the configured TTL
//! (so a third party's revocation is seen within it), and host's
//! `revocation.hosted` empties the cache at once (so Akashi's own revocations are seen
//! immediately; a fetch still under way when the cache is emptied is
//! answered but not kept, since it may have read the document before the
//! revocation). Only answers that describe the document (200, 410) are
//! kept; failures are fetched again next time. Concurrent verifications
//! asking for the same URL share one fetch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;

use crate::domain::fetch::{FetchError, Fetched};

/// The cache: `Accept` and URL → the answer.
#[derive(Clone)]
pub struct DocumentCache {
    entries: Cache<String, Arc<Fetched>>,
    /// Part of every key; [`DocumentCache::clear`] moves it on, so what a
    /// fetch begun before the clear inserts afterwards is never read.
    generation: Arc<AtomicU64>,
}

/// Why a load did not give a cacheable answer.
#[derive(Debug, Clone)]
pub enum Miss {
    /// An answer that is not the document (404, 500…): returned, not kept.
    Uncacheable(Fetched),
    Failed(FetchError),
}

impl DocumentCache {
    /// A cache keeping answers for `ttl`, holding at most `max_bytes` of bodies.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .time_to_live(ttl)
            .max_capacity(max_bytes)
            .weigher(|key: &String, value: &Arc<Fetched>| {
                u32::try_from(key.len() + value.body.len()).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            entries,
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    fn key(&self, url: &url::Url, accept: &str) -> String {
        let generation = self.generation.load(Ordering::Acquire);
        format!("{generation}\n{accept}\n{url}")
    }

    /// The cached answer for `url` and `accept`, or the one `load` gives
    /// (kept if it is 200 or 410), and whether it came from the cache. One
    /// load per key runs at a time.
    pub async fn get_or_load<F>(&self, url: &url::Url, accept: &str, load: F) -> Result<(Arc<Fetched>, bool), Miss>
    where
        F: Future<Output = Result<Fetched, FetchError>>,
    {
        let key = self.key(url, accept);
        if let Some(hit) = self.entries.get(&key).await {
            metrics::counter!("akashi_verifier_cache_total", "result" => "hit").increment(1);
            return Ok((hit, true));
        }
        metrics::counter!("akashi_verifier_cache_total", "result" => "miss").increment(1);
        self.entries
            .try_get_with(key, async {
                match load.await {
                    Ok(f) if f.status == 200 || f.status == 410 => Ok(Arc::new(f)),
                    Ok(f) => Err(Miss::Uncacheable(f)),
                    Err(e) => Err(Miss::Failed(e)),
                }
            })
            .await
            .map(|document| (document, false))
            .map_err(|e| (*e).clone())
    }

    /// Forgets everything (a revocation was announced).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(status: u16, body: &str) -> Fetched {
        Fetched {
            status,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
            redirected_to: None,
        }
    }

    #[tokio::test]
    async fn documents_are_kept_failures_are_not_and_clear_forgets() {
        let cache = DocumentCache::new(Duration::from_secs(60), 1 << 20);
        let url = url::Url::parse("https://issuer.example/profile").unwrap();
        let first = cache
            .get_or_load(&url, "application/json", async { Ok(fetched(200, "v1")) })
            .await
            .unwrap()
            .0;
        assert_eq!(first.body, b"v1");
        let again = cache
            .get_or_load(&url, "application/json", async { Ok(fetched(200, "v2")) })
            .await
            .unwrap()
            .0;
        assert_eq!(again.body, b"v1", "served from the cache");
        let other_accept = cache
            .get_or_load(&url, "application/jwt", async { Ok(fetched(200, "jwt")) })
            .await
            .unwrap()
            .0;
        assert_eq!(other_accept.body, b"jwt", "Accept is part of the key");
        cache.clear();
        let after = cache
            .get_or_load(&url, "application/json", async { Ok(fetched(200, "v3")) })
            .await
            .unwrap()
            .0;
        assert_eq!(after.body, b"v3", "cleared by a revocation");

        let missing = url::Url::parse("https://issuer.example/missing").unwrap();
        assert!(matches!(
            cache
                .get_or_load(&missing, "application/json", async { Ok(fetched(404, "")) })
                .await,
            Err(Miss::Uncacheable(_))
        ));
        let found = cache
            .get_or_load(&missing, "application/json", async { Ok(fetched(200, "now")) })
            .await
            .unwrap()
            .0;
        assert_eq!(found.body, b"now", "a 404 is not remembered");
    }

    #[tokio::test]
    async fn a_fetch_under_way_when_the_cache_is_cleared_is_not_kept() {
        let cache = DocumentCache::new(Duration::from_secs(60), 1 << 20);
        let url = url::Url::parse("https://issuer.example/assertion").unwrap();
        let (started, start) = tokio::sync::oneshot::channel::<()>();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let cache = cache.clone();
            let url = url.clone();
            tokio::spawn(async move {
                cache
                    .get_or_load(&url, "a", async move {
                        started.send(()).unwrap();
                        finished.await.unwrap();
                        Ok(fetched(200, "before the revocation"))
                    })
                    .await
                    .unwrap()
                    .0
            })
        };
        start.await.unwrap();
        cache.clear();
        finish.send(()).unwrap();
        assert_eq!(slow.await.unwrap().body, b"before the revocation", "answered");
        let (after, hit) = cache
            .get_or_load(&url, "a", async { Ok(fetched(410, "revoked")) })
            .await
            .unwrap();
        assert!(!hit, "the old answer was not kept");
        assert_eq!(after.body, b"revoked");
    }

    #[tokio::test]
    async fn entries_expire_after_the_ttl() {
        let cache = DocumentCache::new(Duration::from_millis(50), 1 << 20);
        let url = url::Url::parse("https://issuer.example/list").unwrap();
        let (_, hit) = cache
            .get_or_load(&url, "a", async { Ok(fetched(200, "old")) })
            .await
            .unwrap();
        assert!(!hit, "loaded, not a hit");
        tokio::time::sleep(Duration::from_millis(120)).await;
        let fresh = cache
            .get_or_load(&url, "a", async { Ok(fetched(200, "new")) })
            .await
            .unwrap()
            .0;
        assert_eq!(fresh.body, b"new");
    }
}
