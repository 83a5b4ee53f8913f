//! RabbitMQ handlers of the verifier: it listens only so that its cache
//! never outlives one of Akashi's own revocations.

use akashi_bus::{HandlerError, IncomingMessage};
use akashi_model::messages::BadgeRevoked;

use crate::domain::cache::DocumentCache;

/// `badge.revoked` (on this replica's own queue): empty the document cache,
/// so that the next verification reads the revocation lists afresh.
pub async fn badge_revoked(cache: DocumentCache, message: IncomingMessage) -> Result<(), HandlerError> {
    let revoked: BadgeRevoked = message.data()?;
    cache.clear();
    tracing::info!(award_id = %revoked.award_id, "document cache cleared for a revocation");
    Ok(())
}
