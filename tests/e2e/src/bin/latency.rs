//! Load tool: end-to-end latency from a signed webhook to the hosted
//! assertion, against a running stack (`./scripts/up --detach`).
//!
//!     cargo run -p akashi-e2e --bin latency -- [requests] [concurrency]
//!
//! Each request is a new learner completing DEMO-101. Latency is measured
//! from just before the webhook POST until the assertion URL answers 200;
//! the lookup is polled every 2 ms, so figures are at most ~2 ms late.
//! Reads AKASHI_ADMIN_TOKEN (or .akashi/admin-token) and
//! AKASHI_DEMO_WEBHOOK_SECRET (default demo-secret).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

const LMS: &str = "http://127.0.0.1:8085";
const ISSUER: &str = "http://127.0.0.1:8081";

async fn one(http: &reqwest::Client, token: &str, secret: &str, run: &str, i: usize) -> anyhow::Result<Duration> {
    let email = format!("load-{run}-{i}@example.ac.jp");
    let body = json!({
        "event_id": format!("load-{run}-{i}"),
        "learner": {"email": email},
        "course": {"id": "DEMO-101"},
    })
    .to_string();
    let started = Instant::now();
    let signature =
        akashi_crypto::webhook::signature_header(secret.as_bytes(), chrono::Utc::now().timestamp(), body.as_bytes());
    let r = http
        .post(format!("{LMS}/webhooks/generic"))
        .header("Content-Type", "application/json")
        .header("X-Akashi-Signature", signature)
        .body(body)
        .send()
        .await?;
    if r.status() != 202 {
        bail!("webhook answered {}", r.status());
    }
    let deadline = started + Duration::from_secs(30);
    loop {
        let awards: Value = http
            .get(format!("{ISSUER}/admin/awards"))
            .bearer_auth(token)
            .query(&[("recipient", &email)])
            .send()
            .await?
            .json()
            .await?;
        if let Some(url) = awards["awards"][0]["formats"]["ob2_hosted"].as_str()
            && http.get(url).send().await?.status() == 200
        {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!("no hosted assertion for {email} after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);
    let token = match std::env::var("AKASHI_ADMIN_TOKEN") {
        Ok(t) => t,
        Err(_) => {
            std::fs::read_to_string(".akashi/admin-token").context("AKASHI_ADMIN_TOKEN or .akashi/admin-token")?
        }
    };
    let secret = std::env::var("AKASHI_DEMO_WEBHOOK_SECRET").unwrap_or_else(|_| "demo-secret".into());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let wall = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(concurrency) {
        let batch = chunk.iter().map(|&i| one(&http, token.trim(), &secret, &run, i));
        latencies.extend(futures_util::future::try_join_all(batch).await?);
    }
    let elapsed = wall.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{n} awards, concurrency {concurrency}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.1} awards/s",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap()),
        n as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
