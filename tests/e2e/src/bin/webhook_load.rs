//! Load tool: outgoing event delivery rate, against a running stack
//! (`./scripts/up --detach`).
//!
//!     cargo run -p akashi-e2e --bin webhook_load -- [awards]
//!
//! Starts a receiver on loopback that answers 200 to every POST and counts
//! them, subscribes it to `badge.issued`, bulk-awards N new recipients in
//! one CSV upload, and times until the receiver has N events: issuance and
//! delivery together, and delivery alone (from the first event received).
//! Reads AKASHI_ADMIN_TOKEN (or .akashi/admin-token) and .akashi/demo.json.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const ISSUER: &str = "http://127.0.0.1:8081";

/// Answers 200 to each request on a keep-alive connection; counts them.
async fn serve(stream: tokio::net::TcpStream, received: Arc<AtomicUsize>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        received.fetch_add(1, Ordering::Relaxed);
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let token = match std::env::var("AKASHI_ADMIN_TOKEN") {
        Ok(t) => t,
        Err(_) => {
            std::fs::read_to_string(".akashi/admin-token").context("AKASHI_ADMIN_TOKEN or .akashi/admin-token")?
        }
    };
    let token = token.trim().to_string();
    let demo: Value =
        serde_json::from_str(&std::fs::read_to_string(".akashi/demo.json").context(".akashi/demo.json")?)?;
    let badge_id = demo["badge_class_id"].as_str().context("badge_class_id")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(AtomicUsize::new(0));
    let counted = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, counted.clone()));
        }
    });
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let subscription: Value = http
        .post(format!("{ISSUER}/admin/webhook-subscriptions"))
        .bearer_auth(&token)
        .json(
            &json!({"url": format!("http://127.0.0.1:{port}/hooks"), "events": ["badge.issued"],
                      "badge_class_id": badge_id}),
        )
        .send()
        .await?
        .json()
        .await?;
    let subscription_id = subscription["id"].as_str().context("the subscription was refused")?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let mut csv = String::from("email\n");
    for i in 0..n {
        csv.push_str(&format!("hooks-{run}-{i}@example.ac.jp\n"));
    }
    let started = Instant::now();
    let result: Value = http
        .post(format!("{ISSUER}/admin/badge-classes/{badge_id}/awards/bulk"))
        .bearer_auth(&token)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    if result["queued"].as_u64() != Some(n as u64) {
        bail!("bulk award did not queue {n}: {result}");
    }
    let mut first = None;
    while received.load(Ordering::Relaxed) < n {
        if first.is_none() && received.load(Ordering::Relaxed) > 0 {
            first = Some(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("{} of {n} events after 10 minutes", received.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = started.elapsed();
    let first = first.unwrap_or(total);
    let deliveries = (total - first).as_secs_f64().max(0.001);
    println!(
        "webhooks {n} events: issued and delivered in {:.2} s ({:.0} events/s); delivering alone {:.0} events/s",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        (n - 1) as f64 / deliveries
    );
    http.delete(format!("{ISSUER}/admin/webhook-subscriptions/{subscription_id}"))
        .bearer_auth(&token)
        .send()
        .await?;
    Ok(())
}
