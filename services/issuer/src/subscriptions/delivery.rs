//! Sends due deliveries to subscribers' endpoints.
//!
//! At least once: a delivery is leased (one replica sends it), sent, then
//! recorded. A replica that dies between sending and recording leaves the
//! lease to run out, and the delivery is sent again with the same
//! `webhook-id`, on which receivers deduplicate. Requests obey the address
//! policy at every connection, follow no redirect, and are bounded in time;
//! only the first KiB of an answer is kept for the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use akashi_db::PgPool;
use akashi_net::{ClientOptions, NetPolicy, PolicedClient};
use chrono::Utc;
use rand::RngExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::db::{self, AttemptRow, LeasedDelivery, Outcome, SubscriptionRow};
use crate::config::WebhooksConfig;
use crate::domain::keyring::Keyring;

/// How many deliveries one round leases (and sends concurrently).
const BATCH: i64 = 16;
/// How much of an answer's body the log keeps.
const EXCERPT_BYTES: usize = 1024;

/// The context a subscription's key is sealed under.
pub fn secret_context(subscription_id: Uuid) -> Vec<u8> {
    format!("webhook-subscription:{subscription_id}").into_bytes()
}

/// The `webhook-id` of a delivery.
pub fn webhook_id(delivery_id: Uuid) -> String {
    format!("msg_{}", delivery_id.simple())
}

/// When the next attempt after `attempts` failed ones may start: doubling
/// from `base`, capped at `max`, each wait drawn from its upper half so
/// that receivers coming back are not hit by every sender at once.
pub fn retry_delay(config: &WebhooksConfig, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(32);
    let full = config
        .retry_base_ms
        .saturating_mul(1u64 << doublings)
        .min(config.retry_max_ms)
        .max(1);
    let jittered = rand::rng().random_range(full / 2..=full);
    Duration::from_millis(jittered)
}

/// The worker.
pub struct Deliverer {
    pool: PgPool,
    keyring: Arc<Keyring>,
    client: PolicedClient,
    config: WebhooksConfig,
    wake: Arc<Notify>,
}

impl Deliverer {
    /// A worker sending with `config`'s policy and limits; `wake` tells it
    /// that a delivery was recorded.
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, config: WebhooksConfig, wake: Arc<Notify>) -> anyhow::Result<Self> {
        let client = PolicedClient::new(
            NetPolicy::new(&config.allow_private_hosts),
            ClientOptions {
                timeout: Duration::from_millis(config.timeout_ms),
                user_agent: concat!("Akashi-Webhooks/", env!("CARGO_PKG_VERSION")),
                max_redirects: 0,
            },
        )?;
        Ok(Self {
            pool,
            keyring,
            client,
            config,
            wake,
        })
    }

    /// Sends until `shutdown`: whatever is due, then waits for a wake-up or
    /// the next retry (polled every half second).
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let sent = match self.round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                    0
                }
            };
            if sent == BATCH as usize {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// Leases and sends one batch; answers its size.
    async fn round(&self) -> anyhow::Result<usize> {
        let mut conn = akashi_db::conn(&self.pool).await?;
        let lease = i64::try_from(self.config.lease_secs).unwrap_or(60);
        let leased = db::lease_due(&mut conn, BATCH, lease).await?;
        if leased.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = leased.iter().map(|d| d.subscription_id).collect();
        let subscriptions = db::subscriptions_by_id(&mut conn, &ids).await?;
        drop(conn);
        let count = leased.len();
        let sends = leased.into_iter().filter_map(|delivery| {
            let subscription = subscriptions.iter().find(|s| s.id == delivery.subscription_id)?;
            Some(self.send(delivery, subscription))
        });
        futures_util::future::join_all(sends).await;
        Ok(count)
    }

    /// The keys that sign now: the current one, and the previous one while
    /// its overlap lasts.
    fn signing_keys(&self, subscription: &SubscriptionRow) -> anyhow::Result<Vec<zeroize::Zeroizing<Vec<u8>>>> {
        let context = secret_context(subscription.id);
        let mut keys = vec![self.keyring.open(&context, &subscription.sealed_secret)?];
        if let (Some(previous), Some(until)) = (
            &subscription.sealed_previous_secret,
            subscription.previous_secret_expires_at,
        ) && until > Utc::now()
        {
            keys.push(self.keyring.open(&context, previous)?);
        }
        Ok(keys)
    }

    async fn send(&self, delivery: LeasedDelivery, subscription: &SubscriptionRow) {
        let started = Instant::now();
        let attempted_at = Utc::now();
        let body = delivery.payload.to_string();
        let id = webhook_id(delivery.id);
        let result = match self.signing_keys(subscription) {
            Ok(keys) => {
                let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                let timestamp = attempted_at.timestamp();
                let signature =
                    akashi_crypto::standard_webhooks::signature_header(&keys, &id, timestamp, body.as_bytes());
                self.post(&subscription.url, &id, timestamp, &signature, body).await
            }
            Err(e) => Err(format!("the subscription's secret cannot be opened: {e}")),
        };
        let (status_code, error, excerpt) = match result {
            Ok((status, excerpt)) => (Some(i32::from(status)), None, Some(excerpt)),
            Err(e) => (None, Some(e), None),
        };
        let delivered = status_code.is_some_and(|s| (200..300).contains(&s));
        let outcome = if delivered {
            Outcome::Delivered
        } else {
            let give_up = delivery.created_at
                + chrono::Duration::seconds(i64::try_from(self.config.give_up_after_secs).unwrap_or(i64::MAX / 2));
            let next = Utc::now()
                + chrono::Duration::from_std(retry_delay(&self.config, delivery.attempts)).unwrap_or_default();
            if next > give_up {
                Outcome::Failed
            } else {
                Outcome::RetryAt(next)
            }
        };
        let attempt = AttemptRow {
            id: 0,
            delivery_id: delivery.id,
            attempted_at,
            status_code,
            error,
            response_excerpt: excerpt,
            duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
        };
        let recorded = async {
            let mut conn = akashi_db::conn(&self.pool).await?;
            anyhow::Ok(db::record_attempt(&mut conn, &attempt, subscription.id, outcome).await?)
        }
        .await;
        match recorded {
            Ok(turned_off) => {
                tracing::info!(
                    webhook_id = %id, subscription_id = %subscription.id, status = ?status_code,
                    error = ?attempt.error, attempt = delivery.attempts, delivered, "webhook delivery attempted"
                );
                metrics::counter!("akashi_webhook_attempts_total", "delivered" => delivered.to_string()).increment(1);
                if turned_off {
                    tracing::warn!(subscription_id = %subscription.id, url = %subscription.url,
                        "webhook subscription turned off: every delivery failed for the whole retry period");
                }
            }
            // The lease runs out and the delivery is sent again (same id).
            Err(e) => tracing::warn!(webhook_id = %id, error = %e, "a webhook attempt could not be recorded"),
        }
    }

    /// One POST; answers the status and the start of the body, or why there
    /// was no answer (never whether a port was open: see akashi-net).
    async fn post(
        &self,
        url: &str,
        id: &str,
        timestamp: i64,
        signature: &str,
        body: String,
    ) -> Result<(u16, String), String> {
        let request = self
            .client
            .post(url)
            .map_err(|e| format!("refused by the address policy: {e}"))?
            .header("content-type", "application/cloudevents+json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let mut response = request.send().await.map_err(|e| akashi_net::describe_for_caller(&e))?;
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                _ => break,
            }
        }
        excerpt.truncate(EXCERPT_BYTES);
        Ok((status, String::from_utf8_lossy(&excerpt).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_within_their_jitter_and_cap() {
        let config = WebhooksConfig {
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
            ..WebhooksConfig::default()
        };
        for (attempts, full) in [(1, 1_000), (2, 2_000), (3, 4_000), (7, 60_000), (40, 60_000)] {
            for _ in 0..50 {
                let wait = retry_delay(&config, attempts).as_millis() as u64;
                assert!((full / 2..=full).contains(&wait), "attempt {attempts}: {wait} ms");
            }
        }
    }

    #[test]
    fn the_webhook_id_is_stable_and_prefixed() {
        let id = Uuid::now_v7();
        assert_eq!(webhook_id(id), webhook_id(id));
        assert!(webhook_id(id).starts_with("msg_"));
    }
}
