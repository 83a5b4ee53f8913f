//! The audit trail of verifications, written in batches off the request
//! path: a verification answers as soon as it is decided, and a busy
//! verifier writes one INSERT per batch of rows rather than one per request.
//! The channel is bounded, so a database that falls behind slows callers
//! down instead of losing rows.
//!
//! When the operator turns on `verification_events`, each verification of
//! one of Akashi's own badges is also announced to the issuer
//! (`event.observed`, `verification.performed`) from the outbox, in the
//! batch's transaction: the award, the verdict and the format, never who
//! asked.

use akashi_db::PgPool;
use diesel_async::RunQueryDsl;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use akashi_model::messages::EventObserved;

use crate::db::verifications;

/// Rows waiting at most.
const CAPACITY: usize = 10_000;
/// Rows per INSERT at most.
const BATCH: usize = 1_000;

/// One answered verification.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: Uuid,
    pub input_kind: &'static str,
    pub subject: Option<String>,
    pub status: &'static str,
    pub format: Option<String>,
    pub elapsed_ms: i64,
    pub api_client_id: Option<Uuid>,
}

/// Recognises Akashi's own awards among verified subjects: the URLs host
/// and display give each award.
#[derive(Clone)]
pub struct OwnAwards {
    prefixes: Vec<String>,
}

impl OwnAwards {
    /// Awards under host's and display's public bases.
    pub fn new(host: &str, display: &str) -> Self {
        let (host, display) = (host.trim_end_matches('/'), display.trim_end_matches('/'));
        Self {
            prefixes: vec![
                format!("{host}/ob2/assertions/"),
                format!("{host}/ob2/signed/"),
                format!("{host}/ob3/credentials/"),
                format!("{host}/blockcerts/"),
                format!("{display}/badges/"),
            ],
        }
    }

    /// The award a verified URL or credential id names, if it is one of ours.
    pub fn award_id(&self, subject: &str) -> Option<Uuid> {
        let rest = self.prefixes.iter().find_map(|p| subject.strip_prefix(p.as_str()))?;
        let id = rest.split(['/', '?', '#', '.']).next()?;
        Uuid::parse_str(id).ok()
    }
}

/// Where handlers send entries.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<AuditEntry>,
}

/// The task that writes them.
pub struct AuditWriter {
    receiver: mpsc::Receiver<AuditEntry>,
    pool: PgPool,
    /// Set when verifications of our own awards are announced.
    announce: Option<(OwnAwards, akashi_bus::Relay)>,
}

impl AuditLog {
    /// A log and its writer (run the writer as a task of the service).
    pub fn new(pool: PgPool, announce: Option<(OwnAwards, akashi_bus::Relay)>) -> (Self, AuditWriter) {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        (
            Self { sender },
            AuditWriter {
                receiver,
                pool,
                announce,
            },
        )
    }

    /// Queues an entry; waits if the writer is behind.
    pub async fn record(&self, entry: AuditEntry) {
        if self.sender.send(entry).await.is_err() {
            tracing::warn!("the audit writer has stopped; a verification was not recorded");
        }
    }
}

impl AuditWriter {
    /// Writes batches until `shutdown`, then what is still queued.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                n = self.receiver.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        return;
                    }
                    self.write(&mut batch).await;
                }
            }
        }
        self.receiver.close();
        while self.receiver.recv_many(&mut batch, BATCH).await > 0 {
            self.write(&mut batch).await;
        }
    }

    async fn write(&self, batch: &mut Vec<AuditEntry>) {
        use diesel::ExpressionMethods;
        use diesel_async::AsyncConnection;
        let notices: Vec<akashi_bus::Envelope<EventObserved>> = match &self.announce {
            Some((own, _)) => batch
                .iter()
                .filter_map(|e| {
                    let award_id = own.award_id(e.subject.as_deref()?)?;
                    Some(akashi_bus::Envelope::new(
                        crate::SERVICE,
                        EventObserved {
                            event_type: "verification.performed".into(),
                            award_id: Some(award_id),
                            issuer_id: None,
                            badge_class_id: None,
                            subject: None,
                            occurred_at: chrono::Utc::now(),
                            data: serde_json::json!({"verification": {
                                "status": e.status, "format": e.format, "input": e.input_kind}}),
                            recipient_email: None,
                        },
                        None,
                    ))
                })
                .collect(),
            None => Vec::new(),
        };
        let rows: Vec<_> = batch
            .drain(..)
            .map(|e| {
                (
                    verifications::id.eq(e.id),
                    verifications::input_kind.eq(e.input_kind),
                    verifications::subject.eq(e.subject),
                    verifications::status.eq(e.status),
                    verifications::format.eq(e.format),
                    verifications::elapsed_ms.eq(e.elapsed_ms),
                    verifications::api_client_id.eq(e.api_client_id),
                )
            })
            .collect();
        let count = rows.len();
        let result = async {
            let mut conn = akashi_db::conn(&self.pool).await?;
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                diesel::insert_into(verifications::table)
                    .values(rows)
                    .execute(conn)
                    .await?;
                for notice in &notices {
                    akashi_bus::outbox::enqueue(conn, notice).await?;
                }
                Ok(())
            })
            .await
        }
        .await;
        if let (Ok(()), Some((_, relay)), false) = (&result, &self.announce, notices.is_empty()) {
            relay.wake();
        }
        match result {
            Ok(()) => metrics::counter!("akashi_verifier_audit_rows_total").increment(count as u64),
            Err(e) => {
                metrics::counter!("akashi_verifier_audit_rows_lost_total").increment(count as u64);
                tracing::warn!(error = %e, rows = count, "could not record verifications");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_awards_are_recognised_by_every_url_they_have() {
        let own = OwnAwards::new("https://host.example/", "https://badges.example");
        let id = Uuid::now_v7();
        for subject in [
            format!("https://host.example/ob2/assertions/{id}"),
            format!("https://host.example/ob2/signed/{id}"),
            format!("https://host.example/ob3/credentials/{id}"),
            format!("https://host.example/blockcerts/{id}"),
            format!("https://badges.example/badges/{id}"),
            format!("https://badges.example/badges/{id}/image.png"),
            format!("https://badges.example/badges/{id}?lang=ja"),
        ] {
            assert_eq!(own.award_id(&subject), Some(id), "{subject}");
        }
        for other in [
            format!("https://elsewhere.example/ob2/assertions/{id}"),
            format!("https://host.example/ob2/issuers/{id}"),
            "https://host.example/ob2/assertions/not-an-id".to_string(),
            "urn:uuid:1234".to_string(),
        ] {
            assert_eq!(own.award_id(&other), None, "{other}");
        }
    }
}
