//! Load benchmark of the verifier, against a running stack
//! (`./scripts/up --detach`, add `--release` for optimized services):
//!
//!     cargo run --release -p akashi-e2e --bin verify_load -- [seconds per format] [concurrency]
//!
//! It awards one demo badge (in every format the demo badge class has),
//! registers an API client with a high limit, then for each format keeps
//! `concurrency` requests in flight for the given time (default 10 s, 64)
//! after a warm-up, and prints verifications/s with p50/p99 latency. The
//! cache is warm: this is the HR system that checks many candidates of
//! issuers it has seen. Every answer must be `valid`; others are counted as
//! errors. Reads AKASHI_ADMIN_TOKEN (or .akashi/admin-token) and
//! AKASHI_DEMO_WEBHOOK_SECRET (default demo-secret).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

const LMS: &str = "http://127.0.0.1:8085";
const ISSUER: &str = "http://127.0.0.1:8081";
const VERIFIER: &str = "http://127.0.0.1:8084";

struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
}

async fn worker(http: reqwest::Client, key: String, body: bytes::Bytes, until: Instant) -> Outcome {
    let mut outcome = Outcome {
        latencies: Vec::with_capacity(4096),
        errors: 0,
    };
    while Instant::now() < until {
        let started = Instant::now();
        let answer = http
            .post(format!("{VERIFIER}/verify"))
            .header("content-type", "application/json")
            .header("x-api-key", &key)
            .body(body.clone())
            .send()
            .await;
        let valid = match answer {
            Ok(r) if r.status() == 200 => r
                .bytes()
                .await
                .is_ok_and(|b| b.windows(16).any(|w| w == br#""status":"valid""#)),
            _ => false,
        };
        if valid {
            outcome.latencies.push(started.elapsed());
        } else {
            outcome.errors += 1;
        }
    }
    outcome
}

async fn run(
    http: &reqwest::Client,
    key: &str,
    body: Value,
    seconds: u64,
    concurrency: usize,
) -> (f64, Duration, Duration, usize) {
    let body = bytes::Bytes::from(body.to_string());
    // Warm-up: fill the cache and the connection pool.
    let warm = Instant::now() + Duration::from_secs(1);
    let warmers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(worker(http.clone(), key.to_string(), body.clone(), warm)))
        .collect();
    for w in warmers {
        let _ = w.await;
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(worker(http.clone(), key.to_string(), body.clone(), until)))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok(o) = w.await {
            latencies.extend(o.latencies);
            errors += o.errors;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (latencies.len() as f64 / elapsed, pick(0.50), pick(0.99), errors)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let token = std::env::var("AKASHI_ADMIN_TOKEN")
        .or_else(|_| std::fs::read_to_string(".akashi/admin-token").map(|t| t.trim().to_string()))
        .context("AKASHI_ADMIN_TOKEN or .akashi/admin-token (./scripts/up)")?;
    let secret = std::env::var("AKASHI_DEMO_WEBHOOK_SECRET").unwrap_or_else(|_| "demo-secret".into());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;

    // One award of the demo badge.
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("verify-load-{}@example.ac.jp", &run_id[..8]);
    let body =
        json!({"event_id": format!("verify-load-{run_id}"), "learner": {"email": email}, "course": {"id": "DEMO-101"}})
            .to_string();
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
        bail!("webhook answered {} (is the stack up and seeded?)", r.status());
    }
    // Wait for the award, and its Blockcerts certificate if the badge has one.
    let deadline = Instant::now() + Duration::from_secs(30);
    let award = loop {
        let awards: Value = http
            .get(format!("{ISSUER}/admin/awards"))
            .bearer_auth(&token)
            .query(&[("recipient", &email)])
            .send()
            .await?
            .json()
            .await?;
        let award = awards["awards"][0].clone();
        let complete =
            award["formats"]["blockcerts"].is_string() || Instant::now() > deadline - Duration::from_secs(20);
        if award.is_object() && complete {
            break award;
        }
        if Instant::now() > deadline {
            bail!("no award for {email}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let formats = &award["formats"];
    let client: Value = http
        .post(format!("{VERIFIER}/admin/api-clients"))
        .bearer_auth(&token)
        .json(&json!({"name": format!("verify_load {run_id}"), "rate_per_minute": 10_000_000}))
        .send()
        .await?
        .json()
        .await?;
    let key = client["api_key"].as_str().context("API client")?.to_string();

    let fetch = |url: &str, accept: &'static str| {
        let http = http.clone();
        let url = url.to_string();
        async move {
            // The lookup lists a format as soon as the issuer made it; host
            // serves it once the bus has carried it there.
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let r = http.get(&url).header("accept", accept).send().await?;
                if r.status() == 200 {
                    return Ok::<_, anyhow::Error>(r.text().await?);
                }
                anyhow::ensure!(
                    r.status() == 404 && Instant::now() < deadline,
                    "{url} answered {}",
                    r.status()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let mut cases: Vec<(&str, Value)> = Vec::new();
    if let Some(url) = formats["ob2_hosted"].as_str() {
        cases.push(("OB 2.0 hosted (URL)", json!({"url": url})));
    }
    if let Some(url) = formats["ob2_signed"].as_str() {
        cases.push((
            "OB 2.0 signed (JWS)",
            json!({"jwt": fetch(url, "application/jose").await?}),
        ));
    }
    if let Some(url) = formats["ob3_vcjwt"].as_str() {
        cases.push(("OB 3.0 VC-JWT", json!({"jwt": fetch(url, "application/jwt").await?})));
    }
    if let Some(url) = formats["ob3_di"].as_str() {
        let credential: Value = serde_json::from_str(&fetch(url, "application/json").await?)?;
        cases.push(("OB 3.0 Data Integrity", json!({"credential": credential})));
    }
    if let Some(url) = formats["blockcerts"].as_str() {
        let certificate: Value = serde_json::from_str(&fetch(url, "application/json").await?)?;
        cases.push(("Blockcerts v3 (mocknet)", json!({"credential": certificate})));
    }
    println!("verify_load: {seconds} s per format, {concurrency} requests in flight, warm cache");
    println!(
        "{:<26} {:>12} {:>10} {:>10} {:>8}",
        "format", "verif./s", "p50 ms", "p99 ms", "errors"
    );
    for (name, body) in cases {
        let (rate, p50, p99, errors) = run(&http, &key, body, seconds, concurrency).await;
        println!(
            "{name:<26} {rate:>12.0} {:>10.2} {:>10.2} {errors:>8}",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
