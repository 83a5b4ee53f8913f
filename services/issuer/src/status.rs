//! OB 3.0 revocation through W3C Bitstring Status Lists: allocating each
//! credential's position, and publishing the issuer-signed list when it is
//! created and whenever a revocation flips a bit.

use akashi_bus::{Envelope, outbox};
use akashi_crypto::keys::KeyError;
use akashi_ld::data_integrity::{self, ProofOptions};
use akashi_model::messages::StatusListPublished;
use chrono::Utc;
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{award_credentials, awards, status_lists};
use crate::domain::documents::{self, PublicLinks};
use crate::domain::formats;
use crate::domain::keyring::{KeyAlgorithm, Keyring};
use crate::domain::status_list::{self, LIST_BYTES};
use crate::keys::active_key;

/// Why status work failed; every case is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("signing: {0}")]
    Key(#[from] KeyError),
    #[error("outbox: {0}")]
    Outbox(#[from] outbox::OutboxError),
    #[error("issuer {0} has no active signing key")]
    NoKey(Uuid),
    #[error("data integrity proof: {0}")]
    Proof(#[from] akashi_ld::data_integrity::ProofError),
}

/// A credential's place in its issuer's status lists.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub list_no: i32,
    pub index: i32,
    /// This allocation opened the list, which must be published now.
    pub new_list: bool,
}

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Takes the next position for a credential of `issuer_id`.
pub async fn allocate(conn: &mut AsyncPgConnection, issuer_id: Uuid) -> Result<Position, StatusError> {
    let next: Next = diesel::sql_query("SELECT nextval('status_list_positions') AS n")
        .get_result(conn)
        .await?;
    let (list_no, index) = status_list::position(next.n);
    let inserted = diesel::insert_into(status_lists::table)
        .values((
            status_lists::issuer_id.eq(issuer_id),
            status_lists::list_no.eq(list_no),
            status_lists::bits.eq(vec![0u8; LIST_BYTES]),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(Position {
        list_no,
        index,
        new_list: inserted == 1,
    })
}

/// Signs one list — as a VC-JWT with the issuer's RSA key, and with a Data
/// Integrity proof (eddsa-rdfc-2022) under its Ed25519 key, so that both
/// kinds of verifier can check it — and puts `status_list.published` in
/// the outbox, within the caller's transaction.
pub async fn publish_list(
    conn: &mut AsyncPgConnection,
    issuer_id: Uuid,
    list_no: i32,
    bits: &[u8],
    keyring: &Keyring,
    links: &PublicLinks,
    correlation: Option<String>,
) -> Result<(), StatusError> {
    let now = Utc::now();
    let mut credential = status_list::credential(
        &links.status_list(issuer_id, list_no),
        &links.ob3_issuer(issuer_id),
        bits,
        now,
    );
    let rsa = active_key(conn, issuer_id, KeyAlgorithm::Rs256)
        .await?
        .ok_or(StatusError::NoKey(issuer_id))?;
    let claims = documents::vc_jwt_claims(&credential, now, None);
    let jwt = keyring
        .signer(&rsa)?
        .sign_jws(Some(&links.key_jwk(issuer_id, rsa.id)), Some("JWT"), &claims)?;
    if let Some(ed) = active_key(conn, issuer_id, KeyAlgorithm::EdDsa).await? {
        let signer = keyring.ed25519_signer(&ed)?;
        let options = ProofOptions {
            verification_method: &links.ob3_verification_method(issuer_id, ed.id),
            created: &documents::ob_datetime(now),
        };
        credential = data_integrity::sign(&credential, &options, &signer).await?;
    }
    let message = StatusListPublished {
        issuer_id,
        list_no,
        updated_at: now,
        credential,
        jwt,
    };
    outbox::enqueue(conn, &Envelope::new(crate::SERVICE, message, correlation)).await?;
    Ok(())
}

/// Sets the revocation bit of an award's OB 3.0 credential, if it has one,
/// and republishes its list (within the caller's transaction).
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    award_id: Uuid,
    keyring: &Keyring,
    links: &PublicLinks,
    correlation: Option<String>,
) -> Result<(), StatusError> {
    let found: Option<(Uuid, Option<i32>, Option<i32>)> = award_credentials::table
        .inner_join(awards::table)
        .filter(
            award_credentials::award_id
                .eq(award_id)
                .and(award_credentials::format.eq_any([formats::OB3_VCJWT, formats::OB3_DI])),
        )
        .select((
            awards::issuer_id,
            award_credentials::status_list_no,
            award_credentials::status_index,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((issuer_id, Some(list_no), Some(index))) = found else {
        return Ok(());
    };
    // Lock the list: two revocations at once must both end up in it.
    let mut bits: Vec<u8> = status_lists::table
        .find((issuer_id, list_no))
        .select(status_lists::bits)
        .for_update()
        .first(conn)
        .await?;
    status_list::set_bit(&mut bits, index);
    diesel::update(status_lists::table.find((issuer_id, list_no)))
        .set((
            status_lists::bits.eq(&bits),
            status_lists::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    publish_list(conn, issuer_id, list_no, &bits, keyring, links, correlation).await
}
