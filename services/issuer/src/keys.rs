//! Issuer keys as the service handles them: the active key of an issuer,
//! publishing the profile with every key, and giving a key to issuers that
//! have none (issuers created before keys existed).

use akashi_bus::{Envelope, outbox};
use akashi_model::messages::{IssuerPublished, KeyPublished};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::{IssuerPresentationRow, IssuerRow, SigningKeyRow};
use crate::db::schema::{issuers, signing_keys};
use crate::domain::documents::{self, PublicLinks};
use crate::domain::keyring::KeyAlgorithm;
use crate::startup::AppState;

/// Every key an issuer has had, oldest first.
pub async fn all_keys(conn: &mut AsyncPgConnection, issuer_id: Uuid) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::issuer_id.eq(issuer_id))
        .select(SigningKeyRow::as_select())
        .order(signing_keys::valid_from)
        .load(conn)
        .await
}

/// The key of `algorithm` an issuer signs with now, if it has one.
pub async fn active_key(
    conn: &mut AsyncPgConnection,
    issuer_id: Uuid,
    algorithm: KeyAlgorithm,
) -> QueryResult<Option<SigningKeyRow>> {
    signing_keys::table
        .filter(
            signing_keys::issuer_id
                .eq(issuer_id)
                .and(signing_keys::algorithm.eq(algorithm.as_str()))
                .and(signing_keys::valid_until.is_null()),
        )
        .select(SigningKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Puts `issuer.published` (profile and every key) in the outbox, within
/// the caller's transaction.
pub async fn publish_issuer(
    conn: &mut AsyncPgConnection,
    issuer: &IssuerRow,
    links: &PublicLinks,
    correlation: Option<String>,
) -> Result<(), outbox::OutboxError> {
    let all = all_keys(conn, issuer.id).await?;
    // OB 2.0 CryptographicKeys are RSA (publicKeyPem for RS256 JWS) only.
    let rsa: Vec<SigningKeyRow> = all
        .iter()
        .filter(|k| k.algorithm == KeyAlgorithm::Rs256.as_str())
        .cloned()
        .collect();
    let profile = serde_json::to_value(documents::profile(issuer, &rsa, links))?;
    let ob3_profile = Some(documents::ob3_profile(issuer, &all, links));
    let anchoring: Vec<SigningKeyRow> = all
        .iter()
        .filter(|k| k.algorithm == KeyAlgorithm::Es256k.as_str())
        .cloned()
        .collect();
    let blockcerts_profile = Some(crate::domain::blockcerts::profile(issuer, &anchoring, links));
    let keys = rsa
        .iter()
        .map(|k| KeyPublished {
            key_id: k.id,
            document: documents::cryptographic_key(k, links),
        })
        .collect();
    let presentation = IssuerPresentationRow::stored(conn, issuer.id).await?;
    let message = Envelope::new(
        crate::SERVICE,
        IssuerPublished {
            issuer_id: issuer.id,
            profile,
            keys,
            ob3_profile,
            blockcerts_profile,
            presentation: presentation.map(|p| p.to_message()),
            published_at: Some(Utc::now()),
        },
        correlation,
    );
    outbox::enqueue(conn, &message).await
}

/// Gives every issuer without an active key of some algorithm a new one
/// and republishes it.
pub async fn ensure_active_keys(state: &AppState) -> anyhow::Result<()> {
    for algorithm in KeyAlgorithm::ALL {
        ensure_active(state, algorithm).await?;
    }
    Ok(())
}

async fn ensure_active(state: &AppState, algorithm: KeyAlgorithm) -> anyhow::Result<()> {
    let mut conn = akashi_db::conn(&state.pool).await?;
    let without: Vec<IssuerRow> = issuers::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            signing_keys::table.filter(
                signing_keys::issuer_id
                    .eq(issuers::id)
                    .and(signing_keys::algorithm.eq(algorithm.as_str()))
                    .and(signing_keys::valid_until.is_null()),
            ),
        )))
        .select(IssuerRow::as_select())
        .load(&mut conn)
        .await?;
    for issuer in without {
        let key = state
            .keyring
            .generate(issuer.id, algorithm, Utc::now(), &state.links)
            .await?;
        let links = state.links.clone();
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            // Another replica may have done it meanwhile: the unique index decides.
            let inserted = diesel::insert_into(signing_keys::table)
                .values(&key)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                publish_issuer(conn, &issuer, &links, None).await?;
            }
            Ok(())
        })
        .await?;
        tracing::info!(issuer_id = %issuer.id, algorithm = algorithm.as_str(), "signing key created for an issuer that had none");
    }
    state.relay.wake();
    Ok(())
}
