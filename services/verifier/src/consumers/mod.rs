//! RabbitMQ handlers of the verifier: it listens only so that its cache
//! never outlives one of Akashi's own revocations.

use akashi_bus::{HandlerError, IncomingMessage};
use akashi_model::messages::RevocationHosted;

use crate::domain::cache::DocumentCache;

/// `revocation.hosted` (on this replica's own queue): empty the document
/// cache, so that the next verification reads the revocation afresh. Host
/// sends it after it serves the revocation; on `badge.revoked` (which host
/// may not have handled yet) the cache could refill with the document as it
/// was before.
pub async fn revocation_hosted(cache: DocumentCache, message: IncomingMessage) -> Result<(), HandlerError> {
    let hosted: RevocationHosted = message.data()?;
    cache.clear();
    tracing::info!(issuer_id = %hosted.issuer_id, award_id = ?hosted.award_id, "document cache cleared for a revocation");
    Ok(())
}
