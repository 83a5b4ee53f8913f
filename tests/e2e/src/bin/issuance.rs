//! Load tool: issuance rate per credential format, against a running stack
//! (`./scripts/up --detach`).
//!
//!     cargo run -p akashi-e2e --bin issuance -- [awards per format]
//!
//! For each format set it creates a badge class, bulk-awards N new
//! recipients in one CSV upload, and times until the issuer's database holds
//! all N awards (every format signed and committed). Reads
//! AKASHI_ADMIN_TOKEN (or .akashi/admin-token) and .akashi/demo.json.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:8081";
const ISSUER_DB: &str = "postgres://postgres@127.0.0.1:5432/akashi_issuer";
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(500);
    let token = match std::env::var("AKASHI_ADMIN_TOKEN") {
        Ok(t) => t,
        Err(_) => {
            std::fs::read_to_string(".akashi/admin-token").context("AKASHI_ADMIN_TOKEN or .akashi/admin-token")?
        }
    };
    let token = token.trim().to_string();
    let demo: Value =
        serde_json::from_str(&std::fs::read_to_string(".akashi/demo.json").context(".akashi/demo.json")?)?;
    let issuer_id = demo["issuer_id"].as_str().context("issuer_id")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let mut db = AsyncPgConnection::establish(ISSUER_DB).await?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    for formats in [
        vec!["ob2_hosted"],
        vec!["ob2_hosted", "ob2_signed"],
        vec!["ob2_hosted", "ob3_vcjwt"],
        vec!["ob2_hosted", "ob3_di"],
        vec!["ob2_hosted", "ob2_signed", "ob3_vcjwt", "ob3_di"],
    ] {
        let label = formats.join("+");
        let badge: Value = http
            .post(format!("{ISSUER}/admin/issuers/{issuer_id}/badge-classes"))
            .bearer_auth(&token)
            .json(
                &json!({"name": format!("Bench {label} {run}"), "description": "benchmark", "criteria": "benchmark",
                          "image_base64": PNG_1X1, "formats": formats}),
            )
            .send()
            .await?
            .json()
            .await?;
        let badge_id: uuid::Uuid = badge["id"].as_str().context("badge class id")?.parse()?;
        let mut csv = String::from("email\n");
        for i in 0..n {
            csv.push_str(&format!("bench-{run}-{i}-{}@example.ac.jp\n", label.replace('+', "-")));
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
            bail!("bulk upload did not queue every row: {result}");
        }
        loop {
            let c: Count = diesel::sql_query("SELECT count(*) AS n FROM awards WHERE badge_class_id = $1")
                .bind::<SqlUuid, _>(badge_id)
                .get_result(&mut db)
                .await?;
            if c.n as usize >= n {
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                bail!("{label}: only {} of {n} awards after 10 minutes", c.n);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!("{label:<32} {n} awards in {secs:.2} s: {:.0} awards/s", n as f64 / secs);
    }
    Ok(())
}
