//! `akashi subscriptions …`: outgoing event subscriptions (webhooks to HR
//! systems, SIS, warehouses) from a shell. Results print as JSON.

use clap::Subcommand;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{Admin, urlencode};

#[derive(Subcommand)]
pub enum SubscriptionsCommand {
    /// The subscriptions the token sees.
    List,
    /// Subscribes an endpoint; prints the subscription with its secret
    /// (`whsec_…`), shown this once.
    Create {
        /// The endpoint (public https).
        #[arg(long)]
        url: String,
        /// An event type (repeat for several): badge.issued, badge.revoked,
        /// badge.expired, badge.claimed, rule.decision.pending,
        /// verification.performed.
        #[arg(long = "event", required = true)]
        events: Vec<String>,
        /// Only this issuer's events.
        #[arg(long)]
        issuer: Option<String>,
        /// Only this badge class's events.
        #[arg(long)]
        badge_class: Option<String>,
        /// Send the earner's e-mail address with each event.
        #[arg(long)]
        include_recipient_email: bool,
        #[arg(long)]
        description: Option<String>,
    },
    /// Turns a subscription on (what was pending goes out at once).
    Enable { id: String },
    /// Turns a subscription off.
    Disable { id: String },
    /// A new secret; the old one keeps signing for the overlap.
    RotateSecret {
        id: String,
        /// Seconds both secrets sign (default a day).
        #[arg(long)]
        overlap_secs: Option<u32>,
    },
    /// The delivery log, newest first, with every attempt.
    Deliveries {
        id: String,
        /// `pending`, `delivered` or `failed`.
        #[arg(long)]
        status: Option<String>,
    },
    /// Sends deliveries again (their original webhook-id): one, or those of
    /// events in a time range.
    Replay {
        id: String,
        #[arg(long, conflicts_with = "since", required_unless_present = "since")]
        delivery: Option<String>,
        /// RFC 3339, e.g. 2026-12-01T00:00:00Z.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, requires = "since")]
        until: Option<String>,
    },
    /// Deletes a subscription and its delivery log.
    Delete { id: String },
}

/// Runs one subscriptions command against the issuer at `issuer`.
pub async fn run(admin: &Admin, issuer: &str, command: &SubscriptionsCommand) -> anyhow::Result<()> {
    let base = format!("{issuer}/admin/webhook-subscriptions");
    let one = |id: &str| format!("{base}/{}", urlencode(id));
    let (method, url, body, ok) = match command {
        SubscriptionsCommand::List => (Method::GET, base.clone(), None, StatusCode::OK),
        SubscriptionsCommand::Create {
            url,
            events,
            issuer,
            badge_class,
            include_recipient_email,
            description,
        } => (
            Method::POST,
            base.clone(),
            Some(
                json!({"url": url, "events": events, "issuer_id": issuer, "badge_class_id": badge_class,
                        "include_recipient_email": include_recipient_email, "description": description}),
            ),
            StatusCode::CREATED,
        ),
        SubscriptionsCommand::Enable { id } => (Method::PATCH, one(id), Some(json!({"enabled": true})), StatusCode::OK),
        SubscriptionsCommand::Disable { id } => {
            (Method::PATCH, one(id), Some(json!({"enabled": false})), StatusCode::OK)
        }
        SubscriptionsCommand::RotateSecret { id, overlap_secs } => (
            Method::POST,
            format!("{}/rotate-secret", one(id)),
            Some(json!({"overlap_secs": overlap_secs})),
            StatusCode::OK,
        ),
        SubscriptionsCommand::Deliveries { id, status } => {
            let mut url = format!("{}/deliveries?limit=500", one(id));
            if let Some(status) = status {
                url.push_str(&format!("&status={}", urlencode(status)));
            }
            (Method::GET, url, None, StatusCode::OK)
        }
        SubscriptionsCommand::Replay {
            id,
            delivery,
            since,
            until,
        } => (
            Method::POST,
            format!("{}/replay", one(id)),
            Some(match delivery {
                Some(d) => json!({"delivery_id": d}),
                None => json!({"since": since, "until": until}),
            }),
            StatusCode::ACCEPTED,
        ),
        SubscriptionsCommand::Delete { id } => (Method::DELETE, one(id), None, StatusCode::NO_CONTENT),
    };
    let answer: Value = admin.expect(method, &url, body, &[ok]).await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
