//! E-mail to earners: "you have earned a badge" and "your badge was
//! revoked", in Japanese and English, with the badge page's link.
//!
//! The consumers only queue a row per award and kind (`mail_outbox`,
//! unique), in their own transaction-free idempotent insert, so a message
//! delivered twice queues one mail. This task renders due rows (reading the
//! badge's name from host at send time) and sends them through SMTP; a
//! failure — SMTP down, host unreachable, the award not known yet — is
//! retried with back-off (2 s doubling to 10 min), never dropped.

use std::time::Duration;

use askama::Template;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::MailConfig;
use crate::db::{known_awards, mail_outbox};
use crate::domain::lang::Lang;
use crate::routes::badge_page::badge_class_in;
use crate::startup::AppState;

/// Rows sent per pass at most.
const BATCH: i64 = 50;
/// How often due mail is looked for.
const TICK: Duration = Duration::from_millis(500);

#[derive(Template)]
#[template(path = "mail_issued.txt", escape = "none")]
struct IssuedMail<'a> {
    recipient_name: &'a str,
    badge_name: &'a str,
    badge_name_ja: &'a str,
    issuer_name: &'a str,
    page_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail_revoked.txt", escape = "none")]
struct RevokedMail<'a> {
    recipient_name: &'a str,
    badge_name_ja: &'a str,
    badge_name: &'a str,
    issuer_name: &'a str,
    page_url: &'a str,
    reason: &'a str,
}

#[derive(Template)]
#[template(path = "mail_signin.txt", escape = "none")]
struct SignInMail<'a> {
    lang: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail_subscription_disabled.txt", escape = "none")]
struct SubscriptionDisabledMail<'a> {
    url: &'a str,
    reason: &'a str,
    subscription_id: &'a str,
    disabled_at: &'a str,
}

/// Queues the mail telling a tenant that a webhook subscription was turned
/// off (once per message: `message_id` keys the row). The endpoint travels
/// in `link`, the subscription and the time in `reason`.
pub async fn queue_subscription_disabled(
    conn: &mut diesel_async::AsyncPgConnection,
    message_id: Uuid,
    notice: &akashi_model::messages::WebhookSubscriptionDisabled,
) -> QueryResult<()> {
    let details = serde_json::json!({
        "subscription_id": notice.subscription_id,
        "reason": notice.reason,
        "disabled_at": notice.disabled_at,
    });
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::now_v7()),
            mail_outbox::award_id.eq(message_id),
            mail_outbox::kind.eq("subscription_disabled"),
            mail_outbox::recipient_email.eq(notice.to.as_str()),
            mail_outbox::link.eq(&notice.url),
            mail_outbox::reason.eq(details.to_string()),
        ))
        .on_conflict((mail_outbox::award_id, mail_outbox::kind))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues an earner's sign-in link (once per request).
pub async fn queue_signin(
    conn: &mut diesel_async::AsyncPgConnection,
    request: &akashi_model::messages::EarnerSignInRequested,
) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::now_v7()),
            mail_outbox::award_id.eq(request.request_id),
            mail_outbox::kind.eq("signin"),
            mail_outbox::recipient_email.eq(request.email.as_str()),
            mail_outbox::link.eq(&request.link),
            mail_outbox::lang.eq(&request.lang),
            // A link that has expired is not worth sending.
            mail_outbox::reason.eq(request.expires_at.to_rfc3339()),
        ))
        .on_conflict((mail_outbox::award_id, mail_outbox::kind))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues a mail (once per award and kind; a repeat is ignored).
pub async fn queue(
    conn: &mut diesel_async::AsyncPgConnection,
    award_id: Uuid,
    kind: &str,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::now_v7()),
            mail_outbox::award_id.eq(award_id),
            mail_outbox::kind.eq(kind),
            mail_outbox::reason.eq(reason),
        ))
        .on_conflict((mail_outbox::award_id, mail_outbox::kind))
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Queues the award's e-mail again, sent or not (an admin's resend).
pub async fn requeue_issued(conn: &mut diesel_async::AsyncPgConnection, award_id: Uuid) -> QueryResult<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::id.eq(Uuid::now_v7()),
            mail_outbox::award_id.eq(award_id),
            mail_outbox::kind.eq("issued"),
        ))
        .on_conflict((mail_outbox::award_id, mail_outbox::kind))
        .do_update()
        .set((
            mail_outbox::sent_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            mail_outbox::attempts.eq(0),
            mail_outbox::last_error.eq(None::<String>),
            mail_outbox::next_attempt_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A claimed row.
#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    award_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    reason: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    recipient_email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    link: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lang: Option<String>,
}

/// The sender task.
pub struct Mailer {
    state: AppState,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    /// A mailer for `config`; an unusable URL or sender is an error at start-up.
    pub fn new(state: AppState, config: &MailConfig) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.expose_secret())?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Self {
            state,
            transport,
            from: config.from.parse()?,
        })
    }

    /// Sends due mail until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(TICK) => {}
            }
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %e, "mail pass failed; will retry");
            }
        }
    }

    async fn pass(&self) -> anyhow::Result<()> {
        let mut conn = akashi_db::conn(&self.state.pool).await?;
        // Claim due rows with a lease (their next attempt pushed past the
        // time a send can take), so that two display replicas never send
        // the same mail; a replica that dies mid-send leaves the lease to expire.
        let due: Vec<Due> = diesel::sql_query(
            "UPDATE mail_outbox SET next_attempt_at = now() + interval '5 minutes' \
             WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= now() \
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, award_id, kind, reason, attempts, recipient_email, link, lang",
        )
        .bind::<diesel::sql_types::BigInt, _>(BATCH)
        .load(&mut conn)
        .await?;
        drop(conn);
        for d in due {
            let (id, award_id, kind, attempts) = (d.id, d.award_id, d.kind.clone(), d.attempts);
            let outcome = if kind == "signin" {
                self.send_signin(&d).await
            } else if kind == "subscription_disabled" {
                self.send_subscription_disabled(&d).await
            } else {
                self.send_one(award_id, &kind, d.reason.as_deref()).await
            };
            let mut conn = akashi_db::conn(&self.state.pool).await?;
            match outcome {
                Ok(()) => {
                    diesel::update(mail_outbox::table.find(id))
                        .set((
                            mail_outbox::sent_at.eq(Utc::now()),
                            mail_outbox::attempts.eq(attempts + 1),
                        ))
                        .execute(&mut conn)
                        .await?;
                    metrics::counter!("akashi_mail_sent_total", "kind" => kind.clone()).increment(1);
                    tracing::info!(%award_id, kind, "mail sent");
                }
                Err(e) => {
                    let delay = Duration::from_secs(2u64.saturating_pow(attempts.clamp(1, 9) as u32).min(600));
                    diesel::update(mail_outbox::table.find(id))
                        .set((
                            mail_outbox::attempts.eq(attempts + 1),
                            mail_outbox::next_attempt_at
                                .eq(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default()),
                            mail_outbox::last_error.eq(e.to_string()),
                        ))
                        .execute(&mut conn)
                        .await?;
                    metrics::counter!("akashi_mail_failures_total").increment(1);
                    tracing::warn!(%award_id, kind, error = %e, retry_in_s = delay.as_secs(), "mail not sent; will retry");
                }
            }
        }
        Ok(())
    }

    /// Renders and sends one mail.
    async fn send_one(&self, award_id: Uuid, kind: &str, reason: Option<&str>) -> anyhow::Result<()> {
        let mut conn = akashi_db::conn(&self.state.pool).await?;
        let known: Option<(Option<String>, Option<String>, Option<String>)> = known_awards::table
            .find(award_id)
            .select((
                known_awards::recipient_email,
                known_awards::recipient_name,
                known_awards::badge_class_url,
            ))
            .first(&mut conn)
            .await
            .optional()?;
        drop(conn);
        let Some((Some(email), name, Some(badge_url))) = known else {
            anyhow::bail!("award {award_id} is not known to display yet");
        };
        // The mail speaks both languages: the badge's name in each (the
        // badge class as written when it has no translation).
        let badge = self.fetch(&badge_class_in(&badge_url, Lang::En)).await?;
        let badge_ja = self.fetch(&badge_class_in(&badge_url, Lang::Ja)).await?;
        let issuer = match badge["issuer"].as_str() {
            Some(url) => self.fetch(url).await?,
            None => Value::Null,
        };
        let badge_name = badge["name"].as_str().unwrap_or("badge");
        let badge_name_ja = badge_ja["name"].as_str().unwrap_or(badge_name);
        let issuer_name = issuer["name"].as_str().unwrap_or("the issuer");
        let recipient_name = name.as_deref().unwrap_or(email.as_str());
        let page_url = format!("{}/badges/{award_id}", self.state.public_base);
        let (subject, body) = match kind {
            "revoked" => (
                format!("バッジが取り消されました / Badge revoked: {badge_name}"),
                RevokedMail {
                    recipient_name,
                    badge_name,
                    badge_name_ja,
                    issuer_name,
                    page_url: &page_url,
                    reason: reason.unwrap_or("—"),
                }
                .render()?,
            ),
            _ => (
                format!("バッジが発行されました / You earned a badge: {badge_name}"),
                IssuedMail {
                    recipient_name,
                    badge_name,
                    badge_name_ja,
                    issuer_name,
                    page_url: &page_url,
                }
                .render()?,
            ),
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(lettre::message::Mailbox::new(name.clone(), email.parse()?))
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .header(MessageKey(format!("{award_id}.{kind}")))
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// Tells a tenant its webhook subscription was turned off.
    async fn send_subscription_disabled(&self, due: &Due) -> anyhow::Result<()> {
        let (Some(email), Some(url)) = (&due.recipient_email, &due.link) else {
            anyhow::bail!("subscription mail {} has no address or endpoint", due.id);
        };
        let details: Value = serde_json::from_str(due.reason.as_deref().unwrap_or("{}"))?;
        let text = |key: &str| details[key].as_str().unwrap_or("—").to_string();
        let body = SubscriptionDisabledMail {
            url,
            reason: &text("reason"),
            subscription_id: &text("subscription_id"),
            disabled_at: &text("disabled_at"),
        }
        .render()?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(lettre::message::Mailbox::new(None, email.parse()?))
            .subject("Webhook の購読を停止しました / A webhook subscription was turned off")
            .header(ContentType::TEXT_PLAIN)
            .header(MessageKey(format!("{}.subscription_disabled", due.award_id)))
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }

    /// Sends a sign-in link, unless it expired while waiting.
    async fn send_signin(&self, due: &Due) -> anyhow::Result<()> {
        let (Some(email), Some(link)) = (&due.recipient_email, &due.link) else {
            anyhow::bail!("sign-in mail {} has no address or link", due.id);
        };
        let expires = due
            .reason
            .as_deref()
            .and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
            .map(|t| t.with_timezone(&Utc));
        let minutes = match expires {
            Some(t) if t <= Utc::now() => {
                tracing::warn!(request = %due.award_id, "sign-in link expired before it could be sent; dropped");
                return Ok(());
            }
            Some(t) => (t - Utc::now()).num_minutes().max(1),
            None => 15,
        };
        let lang = due.lang.as_deref().unwrap_or("en");
        let body = SignInMail { lang, link, minutes }.render()?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(lettre::message::Mailbox::new(None, email.parse()?))
            .subject("Akashi にサインイン / Sign in to Akashi")
            .header(ContentType::TEXT_PLAIN)
            .header(MessageKey(format!("{}.signin", due.award_id)))
            .body(body)?;
        self.transport.send(message).await?;
        Ok(())
    }

    async fn fetch(&self, url: &str) -> anyhow::Result<Value> {
        let response = self
            .state
            .http
            .get(url)
            .header("accept", "application/ld+json")
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
        Ok(response.json().await?)
    }
}

/// `X-Akashi-Mail`: which award and kind a mail is, so that a receiver (or
/// a test) can tell a duplicate from a second mail.
#[derive(Clone)]
struct MessageKey(String);

impl lettre::message::header::Header for MessageKey {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Akashi-Mail")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}
