//! The audit trail of verifications, written in batches off the request
//! path: a verification answers as soon as it is decided, and a busy
//! verifier writes one INSERT per batch of rows rather than one per request.
//! The channel is bounded, so a database that falls behind slows callers
//! down instead of losing rows.

use akashi_db::PgPool;
use diesel_async::RunQueryDsl;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

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

/// Where handlers send entries.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<AuditEntry>,
}

/// The task that writes them.
pub struct AuditWriter {
    receiver: mpsc::Receiver<AuditEntry>,
    pool: PgPool,
}

impl AuditLog {
    /// A log and its writer (run the writer as a task of the service).
    pub fn new(pool: PgPool) -> (Self, AuditWriter) {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        (Self { sender }, AuditWriter { receiver, pool })
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
            diesel::insert_into(verifications::table)
                .values(rows)
                .execute(&mut conn)
                .await?;
            Ok::<_, anyhow::Error>(())
        }
        .await;
        match result {
            Ok(()) => metrics::counter!("akashi_verifier_audit_rows_total").increment(count as u64),
            Err(e) => {
                metrics::counter!("akashi_verifier_audit_rows_lost_total").increment(count as u64);
                tracing::warn!(error = %e, rows = count, "could not record verifications");
            }
        }
    }
}
