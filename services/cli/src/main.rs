//! `akashi`: the command line over Akashi's admin API and webhooks.
//!
//! - `akashi demo-seed`: the contract's demo (idempotent: run it twice, get one of each).
//! - `akashi complete`: post a signed completion to the generic webhook.
//! - `akashi awards`: the fixed awards lookup for one recipient.
//! - `akashi rules …`, `akashi decisions …`, `akashi learners …`: rules,
//!   dry runs and applies, the decision log and approvals, learner
//!   attributes in bulk (see `admin_commands`).
//! - `akashi subscriptions …`: outgoing event subscriptions (see `subscriptions`).

mod admin_commands;
mod subscriptions;

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Parser, Subcommand};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The contract's demo names.
const DEMO_ISSUER: &str = "Akashi Demo University";
const DEMO_BADGE: &str = "Introduction to Data Science";
const DEMO_COURSE: &str = "DEMO-101";
const DEMO_IMAGE: &[u8] = include_bytes!("../../../deploy/demo/badge.svg");
const DEMO_LOGO: &[u8] = include_bytes!("../../../deploy/demo/logo.svg");
const DEMO_SIGNATURE: &[u8] = include_bytes!("../../../deploy/demo/signature.svg");

#[derive(Parser)]
#[command(name = "akashi", version, about = "Akashi admin and webhook command line")]
struct Cli {
    /// Issuer base URL.
    #[arg(
        long,
        env = "AKASHI_ISSUER_URL",
        default_value = "http://127.0.0.1:8081",
        global = true
    )]
    issuer_url: String,
    /// lms-adapter base URL.
    #[arg(
        long,
        env = "AKASHI_LMS_ADAPTER_URL",
        default_value = "http://127.0.0.1:8085",
        global = true
    )]
    lms_adapter_url: String,
    /// Admin bearer token.
    #[arg(long, env = "AKASHI_ADMIN_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the demo issuer, badge class, rule and generic webhook source (idempotent).
    DemoSeed {
        /// Secret of the generic webhook source.
        #[arg(
            long,
            env = "AKASHI_DEMO_WEBHOOK_SECRET",
            default_value = "demo-secret",
            hide_env_values = true
        )]
        webhook_secret: String,
    },
    /// Posts a signed course completion to the generic webhook.
    Complete {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = DEMO_COURSE)]
        course: String,
        #[arg(long)]
        name: Option<String>,
        /// Defaults to a fresh id.
        #[arg(long)]
        event_id: Option<String>,
        #[arg(
            long,
            env = "AKASHI_DEMO_WEBHOOK_SECRET",
            default_value = "demo-secret",
            hide_env_values = true
        )]
        webhook_secret: String,
    },
    /// Lists the awards made to one recipient.
    Awards {
        #[arg(long)]
        recipient: String,
    },
    /// Completion rules: list, create, update, dry-run, apply, explain.
    #[command(subcommand)]
    Rules(admin_commands::RulesCommand),
    /// The decision log and the approval queue.
    #[command(subcommand)]
    Decisions(admin_commands::DecisionsCommand),
    /// Learner attributes (cohorts, groups, sections, roles) in bulk.
    #[command(subcommand)]
    Learners(admin_commands::LearnersCommand),
    /// Badge classes in bulk, in Japanese and English.
    #[command(subcommand)]
    BadgeClasses(admin_commands::BadgeClassesCommand),
    /// Outgoing event subscriptions (Standard Webhooks to HR systems, SIS…).
    #[command(subcommand)]
    Subscriptions(subscriptions::SubscriptionsCommand),
}

struct Admin {
    http: reqwest::Client,
    token: String,
}

impl Admin {
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.http.request(method.clone(), url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let value = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        ok: &[StatusCode],
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), url, body).await?;
        if !ok.contains(&status) {
            bail!("{method} {url} answered {status}: {value}");
        }
        Ok(value)
    }
}

async fn demo_seed(cli: &Cli, admin: &Admin, webhook_secret: &str) -> anyhow::Result<Value> {
    use reqwest::Method;
    let issuers = admin
        .expect(
            Method::GET,
            &format!("{}/admin/issuers?name={}", cli.issuer_url, urlencode(DEMO_ISSUER)),
            None,
            &[StatusCode::OK],
        )
        .await?;
    let issuer = match issuers.as_array().and_then(|a| a.first()) {
        Some(existing) => existing.clone(),
        None => {
            admin
                .expect(
                    Method::POST,
                    &format!("{}/admin/issuers", cli.issuer_url),
                    Some(json!({
                        "name": DEMO_ISSUER,
                        "url": "https://demo.akashi.example",
                        "email": "badges@demo.akashi.example",
                        "description": "The demonstration issuer of Akashi (証)."
                    })),
                    &[StatusCode::CREATED],
                )
                .await?
        }
    };
    let issuer_id = issuer["id"].as_str().context("issuer id")?.to_string();
    // The demo university dates its badges in Tokyo and signs its
    // certificates — unless an admin has set its presentation already.
    let presentation_url = format!("{}/admin/issuers/{issuer_id}/presentation", cli.issuer_url);
    let presentation = admin
        .expect(Method::GET, &presentation_url, None, &[StatusCode::OK])
        .await?;
    if presentation["updated_at"].is_null() {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        admin
            .expect(
                Method::PUT,
                &presentation_url,
                Some(json!({
                    "time_zone": "Asia/Tokyo",
                    "logo_base64": b64(DEMO_LOGO),
                    "signatory": {
                        "name": "Akiko Tanaka",
                        "title": "Registrar",
                        "signature_base64": b64(DEMO_SIGNATURE),
                    },
                })),
                &[StatusCode::OK],
            )
            .await?;
    }
    let classes = admin
        .expect(
            Method::GET,
            &format!("{}/admin/issuers/{issuer_id}/badge-classes", cli.issuer_url),
            None,
            &[StatusCode::OK],
        )
        .await?;
    let badge = match classes
        .as_array()
        .and_then(|a| a.iter().find(|b| b["name"] == DEMO_BADGE))
    {
        Some(existing) => existing.clone(),
        None => {
            admin
                .expect(
                    Method::POST,
                    &format!("{}/admin/issuers/{issuer_id}/badge-classes", cli.issuer_url),
                    Some(json!({
                        "name": DEMO_BADGE,
                        "description": "Awarded for completing Introduction to Data Science (DEMO-101).",
                        "criteria": "Complete every module of the course DEMO-101 in the LMS.",
                        "tags": ["data-science", "demo"],
                        // Every format, Blockcerts included (anchored on the
                        // deployment's chain: mocknet in the dev stack).
                        "formats": ["ob2_hosted", "ob2_signed", "ob3_vcjwt", "ob3_di", "blockcerts"],
                        "alignments": [{
                            "target_name": "Data literacy",
                            "target_url": "https://akashi.example/frameworks/data-literacy",
                            "target_framework": "Akashi demo competency framework",
                            "target_code": "DL-1"
                        }],
                        "image_base64": base64::engine::general_purpose::STANDARD.encode(DEMO_IMAGE),
                    })),
                    &[StatusCode::CREATED],
                )
                .await?
        }
    };
    let badge_id = badge["id"].as_str().context("badge class id")?.to_string();
    // The demo badge speaks Japanese too (added to a demo seeded before
    // badge classes had translations).
    let japanese = json!({
        "name": "データサイエンス入門",
        "description": "「データサイエンス入門」（DEMO-101）の修了により授与されます。",
        "criteria": "LMS でコース DEMO-101 のすべての単元を修了すること。",
    });
    if badge["translations"]["ja"] != japanese {
        admin
            .expect(
                Method::PUT,
                &format!("{}/admin/badge-classes/{badge_id}/translations/ja", cli.issuer_url),
                Some(japanese),
                &[StatusCode::OK],
            )
            .await?;
    }
    let rules_url = format!("{}/admin/rules", cli.lms_adapter_url);
    let existing = admin
        .expect(
            Method::GET,
            &format!("{rules_url}?course_id={DEMO_COURSE}&badge_class_id={badge_id}"),
            None,
            &[StatusCode::OK],
        )
        .await?;
    let rule = match existing.as_array().and_then(|a| a.first()) {
        Some(rule) => rule.clone(),
        None => {
            // The badge class reaches the lms-adapter over the bus: wait for it.
            let mut attempt = 0;
            loop {
                let (status, value) = admin
                    .call(
                        Method::POST,
                        &rules_url,
                        Some(json!({"course_id": DEMO_COURSE, "badge_class_id": badge_id})),
                    )
                    .await?;
                match status {
                    StatusCode::CREATED => break value,
                    StatusCode::NOT_FOUND if attempt < 150 => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    _ => bail!("POST {rules_url} answered {status}: {value}"),
                }
            }
        }
    };
    admin
        .expect(
            Method::PUT,
            &format!("{}/admin/webhook-sources/generic", cli.lms_adapter_url),
            Some(json!({"secrets": [webhook_secret]})),
            &[StatusCode::OK],
        )
        .await?;
    Ok(json!({
        "issuer_id": issuer_id,
        "badge_class_id": badge_id,
        "rule_id": rule["id"],
        "course_id": DEMO_COURSE,
        "webhook_source": "generic",
    }))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let admin = || -> anyhow::Result<Admin> {
        let token = cli
            .token
            .clone()
            .context("an admin token is needed: --token or AKASHI_ADMIN_TOKEN")?;
        Ok(Admin {
            http: http.clone(),
            token,
        })
    };
    match &cli.command {
        Command::DemoSeed { webhook_secret } => {
            let summary = demo_seed(&cli, &admin()?, webhook_secret).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Command::Complete {
            email,
            course,
            name,
            event_id,
            webhook_secret,
        } => {
            let body = json!({
                "event_id": event_id.clone().unwrap_or_else(|| format!("evt-{}", uuid::Uuid::new_v4())),
                "learner": {"email": email, "name": name},
                "course": {"id": course},
                "completed_at": chrono::Utc::now().to_rfc3339(),
            })
            .to_string();
            let now = chrono::Utc::now().timestamp();
            let signature = akashi_crypto::webhook::signature_header(webhook_secret.as_bytes(), now, body.as_bytes());
            let response = http
                .post(format!("{}/webhooks/generic", cli.lms_adapter_url))
                .header("Content-Type", "application/json")
                .header("X-Akashi-Signature", signature)
                .body(body)
                .send()
                .await?;
            let status = response.status();
            println!("{status} {}", response.text().await.unwrap_or_default());
            if !status.is_success() {
                std::process::exit(1);
            }
        }
        Command::Awards { recipient } => {
            let url = format!("{}/admin/awards?recipient={}", cli.issuer_url, urlencode(recipient));
            let value = admin()?
                .expect(reqwest::Method::GET, &url, None, &[StatusCode::OK])
                .await?;
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Command::Rules(command) => admin_commands::rules(&admin()?, &cli.lms_adapter_url, command).await?,
        Command::Decisions(command) => admin_commands::decisions(&admin()?, &cli.lms_adapter_url, command).await?,
        Command::Learners(command) => admin_commands::learners(&admin()?, &cli.lms_adapter_url, command).await?,
        Command::BadgeClasses(command) => admin_commands::badge_classes(&admin()?, &cli.issuer_url, command).await?,
        Command::Subscriptions(command) => subscriptions::run(&admin()?, &cli.issuer_url, command).await?,
    }
    Ok(())
}
