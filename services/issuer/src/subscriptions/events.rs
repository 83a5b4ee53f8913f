//! What a subscriber can ask for, and how an event becomes deliveries.

use akashi_model::messages::AwardUrls;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use super::db::{NewDelivery, SubscriptionRow};
use crate::db::models::AwardRow;
use crate::db::schema::{webhook_deliveries, webhook_subscriptions};
use crate::domain::documents::PublicLinks;

/// The events a subscription may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A badge was awarded.
    BadgeIssued,
    /// A badge was revoked.
    BadgeRevoked,
    /// A badge's expiry date passed.
    BadgeExpired,
    /// The earner signed in to the backpack holding the badge (host).
    BadgeClaimed,
    /// A rule decided to award a badge that waits for an admin's approval
    /// (lms-adapter).
    RuleDecisionPending,
    /// Someone verified the badge at Akashi's verifier (the verdict, never
    /// who asked; only when the operator turned verification events on).
    VerificationPerformed,
}

impl EventType {
    /// Every event type, for validation and documentation.
    pub const ALL: [EventType; 6] = [
        EventType::BadgeIssued,
        EventType::BadgeRevoked,
        EventType::BadgeExpired,
        EventType::BadgeClaimed,
        EventType::RuleDecisionPending,
        EventType::VerificationPerformed,
    ];

    /// The name subscribers use (`events` of a subscription).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BadgeIssued => "badge.issued",
            EventType::BadgeRevoked => "badge.revoked",
            EventType::BadgeExpired => "badge.expired",
            EventType::BadgeClaimed => "badge.claimed",
            EventType::RuleDecisionPending => "rule.decision.pending",
            EventType::VerificationPerformed => "verification.performed",
        }
    }

    /// The CloudEvents `type`, versioned: a breaking change of the payload
    /// gets a new version.
    pub fn cloudevents_type(self) -> String {
        format!("dev.akashi.{}.v1", self.as_str())
    }

    /// Parses a name.
    pub fn parse(raw: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// One event, as every subscription that wants it receives it. The
/// earner's address is kept apart: only subscriptions whose tenant turned
/// it on receive it.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: EventType,
    pub issuer_id: Uuid,
    /// For the badge-class filter.
    pub badge_class_id: Option<Uuid>,
    /// The CloudEvents `subject` (the award, or a decision): events with
    /// the same subject reach a subscription in order.
    pub subject: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The CloudEvents `data`, without the address.
    pub data: Value,
    pub recipient_email: Option<String>,
    /// The issuer's public URL: the CloudEvents `source`.
    pub source: String,
}

impl Event {
    /// An event about `award` (with its issuer's and badge class's names);
    /// `details` are what only this type says (`revocation`, …), merged
    /// into `data`.
    pub fn about_award(
        event_type: EventType,
        award: &AwardRow,
        names: (&str, &str),
        urls: AwardUrls,
        links: &PublicLinks,
        details: Value,
    ) -> Self {
        let (issuer_name, badge_class_name) = names;
        let mut data = json!({
            "award_id": award.id,
            "issuer": {"id": award.issuer_id, "name": issuer_name},
            "badge_class": {"id": award.badge_class_id, "name": badge_class_name},
            "issued_on": award.issued_on,
            "expires_at": award.expires_at,
            "urls": urls,
        });
        if let (Some(data), Value::Object(details)) = (data.as_object_mut(), details) {
            data.extend(details);
        }
        Self {
            event_type,
            issuer_id: award.issuer_id,
            badge_class_id: Some(award.badge_class_id),
            subject: award.id.to_string(),
            occurred_at: Utc::now(),
            data,
            recipient_email: Some(award.recipient_email.clone()),
            source: links.issuer(award.issuer_id),
        }
    }

    /// The CloudEvents 1.0 event (structured mode) as one subscription gets it.
    fn cloud_event(&self, event_id: Uuid, with_email: bool) -> Value {
        let mut data = self.data.clone();
        if let (true, Some(email), Some(object)) = (with_email, &self.recipient_email, data.as_object_mut()) {
            object.insert("recipient".into(), json!({"email": email}));
        }
        json!({
            "specversion": "1.0",
            "id": event_id,
            "source": self.source,
            "type": self.event_type.cloudevents_type(),
            "subject": self.subject,
            "time": self.occurred_at,
            "datacontenttype": "application/json",
            "data": data,
        })
    }
}

/// Records an event in the caller's transaction: one pending delivery per
/// enabled subscription that wants it (its tenant's or a platform one, and
/// its filters match). Recording the same event again adds nothing.
/// Answers how many deliveries were added.
pub async fn record(conn: &mut AsyncPgConnection, event_id: Uuid, event: &Event) -> QueryResult<usize> {
    let subscriptions: Vec<SubscriptionRow> = webhook_subscriptions::table
        .filter(webhook_subscriptions::enabled.eq(true))
        .filter(webhook_subscriptions::events.contains(vec![event.event_type.as_str()]))
        .filter(
            webhook_subscriptions::owner_issuer_id
                .is_null()
                .or(webhook_subscriptions::owner_issuer_id.eq(event.issuer_id)),
        )
        .filter(
            webhook_subscriptions::issuer_id
                .is_null()
                .or(webhook_subscriptions::issuer_id.eq(event.issuer_id)),
        )
        .filter(
            webhook_subscriptions::badge_class_id
                .is_null()
                .or(webhook_subscriptions::badge_class_id
                    .nullable()
                    .eq(event.badge_class_id)),
        )
        .select(SubscriptionRow::as_select())
        .load(conn)
        .await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let rows: Vec<NewDelivery> = subscriptions
        .iter()
        .map(|s| NewDelivery {
            id: Uuid::now_v7(),
            subscription_id: s.id,
            event_id,
            event_type: event.event_type.as_str().to_string(),
            ordering_key: event.subject.clone(),
            issuer_id: event.issuer_id,
            payload: event.cloud_event(event_id, s.include_recipient_email),
        })
        .collect();
    diesel::insert_into(webhook_deliveries::table)
        .values(&rows)
        .on_conflict((webhook_deliveries::subscription_id, webhook_deliveries::event_id))
        .do_nothing()
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoked() -> Event {
        let award = AwardRow {
            id: Uuid::nil(),
            idempotency_key: "k".into(),
            issuer_id: Uuid::nil(),
            badge_class_id: Uuid::nil(),
            recipient_email: "sora@example.ac.jp".into(),
            recipient_name: None,
            salt: "s".into(),
            identity_hash: "h".into(),
            issued_on: DateTime::UNIX_EPOCH,
            expires_at: None,
            origin: json!({}),
            ob2_assertion: json!({}),
            revoked_at: None,
            revocation_reason: None,
            created_at: DateTime::UNIX_EPOCH,
        };
        let links = PublicLinks::new(
            "https://issuer.example",
            "https://host.example",
            "https://display.example",
            "https://verifier.example",
        );
        Event::about_award(
            EventType::BadgeRevoked,
            &award,
            ("Akashi University", "Data Science"),
            links.award(award.id),
            &links,
            json!({"revocation": {"reason": "wrong learner"}}),
        )
    }

    #[test]
    fn the_address_travels_only_when_asked_for_and_details_are_merged() {
        let event = revoked();
        let plain = event.cloud_event(Uuid::nil(), false);
        assert_eq!(plain["specversion"], "1.0");
        assert_eq!(plain["type"], "dev.akashi.badge.revoked.v1");
        assert_eq!(
            plain["source"],
            "https://host.example/ob2/issuers/00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(plain["data"]["revocation"]["reason"], "wrong learner");
        assert_eq!(plain["data"]["badge_class"]["name"], "Data Science");
        assert!(!plain.to_string().contains("sora@example.ac.jp"), "{plain}");
        let with = event.cloud_event(Uuid::nil(), true);
        assert_eq!(with["data"]["recipient"]["email"], "sora@example.ac.jp");
    }

    #[test]
    fn names_parse_back() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
        }
        assert_eq!(EventType::parse("badge.deleted"), None);
    }
}
