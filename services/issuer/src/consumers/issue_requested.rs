//! `issue.requested` → one award (OB 2.0 hosted Assertion) → `badge.issued`.
//!
//! Exactly-once in effect, on two independent grounds: the inbox recognises
//! a redelivered message, and the award's unique idempotency key recognises
//! the same request arriving as a different message (an LMS resending).

use akashi_bus::{Envelope, HandlerError, IncomingMessage, inbox, outbox};
use akashi_model::messages::{BadgeIssued, IssueRequested};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::{AwardCredentialRow, AwardRow, BadgeClassRow, IssuerRow, SigningKeyRow};
use crate::db::schema::{award_credentials, awards, badge_classes, blockcerts_pending, issuers};
use crate::domain::blockcerts;
use crate::domain::documents::{self, AssertionFacts, PublicLinks};
use crate::domain::formats;
use crate::domain::keyring::{KeyAlgorithm, Keyring};
use crate::domain::status_list::{self, LIST_BYTES};
use crate::keys::active_key;
use crate::startup::AppState;
use crate::status;
use crate::subscriptions::{
    self,
    events::{Event, EventType},
};
use akashi_ld::data_integrity::{self, ProofOptions};

const CONSUMER: &str = "issuer.issue.requested";

/// What handling one request did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Issued(Uuid),
    /// This message was processed before (redelivery).
    AlreadyProcessed,
    /// Another message with the same idempotency key issued it already.
    AlreadyIssued(Uuid),
}

/// Handles one delivery.
pub async fn handle(state: AppState, message: IncomingMessage) -> Result<(), HandlerError> {
    let request: IssueRequested = message.data()?;
    let outcome = issue(
        &state,
        message.envelope.id,
        message.envelope.correlationid.clone(),
        request,
    )
    .await?;
    match outcome {
        Outcome::Issued(id) => {
            state.relay.wake();
            state.batcher_wake.notify_one();
            state.webhooks_wake.notify_one();
            tracing::info!(award_id = %id, "badge issued");
        }
        Outcome::AlreadyProcessed => tracing::info!("redelivered message ignored (inbox)"),
        Outcome::AlreadyIssued(id) => tracing::info!(award_id = %id, "duplicate request ignored (idempotency key)"),
    }
    Ok(())
}

/// Issues the award for `request` in one transaction with its inbox entry
/// and its `badge.issued` message.
pub async fn issue(
    state: &AppState,
    message_id: Uuid,
    correlation: Option<String>,
    request: IssueRequested,
) -> Result<Outcome, HandlerError> {
    let mut conn = akashi_db::conn(&state.pool).await.map_err(HandlerError::transient)?;
    let links = state.links.clone();
    let keyring = state.keyring.as_ref();
    conn.transaction::<_, HandlerError, _>(async |conn| {
        if !inbox::claim(conn, CONSUMER, message_id).await? {
            return Ok(Outcome::AlreadyProcessed);
        }
        let existing: Option<Uuid> = awards::table
            .filter(awards::idempotency_key.eq(&request.idempotency_key))
            .select(awards::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(id) = existing {
            return Ok(Outcome::AlreadyIssued(id));
        }
        let badge_class: BadgeClassRow = badge_classes::table
            .find(request.badge_class_id)
            .select(BadgeClassRow::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| HandlerError::permanent(format!("unknown badge class {}", request.badge_class_id)))?;
        if badge_class.issuer_id != request.issuer_id {
            return Err(HandlerError::permanent(format!(
                "badge class {} does not belong to issuer {}",
                badge_class.id, request.issuer_id
            )));
        }
        let issuer: IssuerRow = issuers::table
            .find(badge_class.issuer_id)
            .select(IssuerRow::as_select())
            .first(conn)
            .await?;
        let award_id = Uuid::now_v7();
        let email = request.recipient.email.as_str();
        let salt = akashi_crypto::identity::new_salt();
        let identity_hash = akashi_crypto::identity::hash_identity(email, &salt);
        let issued_on = Utc::now();
        let expires = request.expires.or_else(|| badge_class.expiry_for(issued_on));
        let facts = AssertionFacts {
            award_id,
            badge_class_id: badge_class.id,
            identity_hash: &identity_hash,
            salt: &salt,
            issued_on,
            expires,
            narrative: request.narrative.as_deref(),
            evidence: &request.evidence,
        };
        let hosted = documents::assertion(&facts, &links);
        let context = SigningContext {
            links: &links,
            keyring,
            correlation: &correlation,
        };
        let signed = sign_formats(&badge_class, &issuer, &hosted, &facts, &context, conn).await?;
        let assertion = serde_json::to_value(&hosted).map_err(HandlerError::permanent)?;
        let row = AwardRow {
            id: award_id,
            idempotency_key: request.idempotency_key.clone(),
            issuer_id: request.issuer_id,
            badge_class_id: badge_class.id,
            recipient_email: email.to_string(),
            recipient_name: request.recipient.name.clone(),
            salt: salt.clone(),
            identity_hash: identity_hash.clone(),
            issued_on,
            expires_at: expires,
            origin: serde_json::to_value(&request.origin).map_err(HandlerError::permanent)?,
            ob2_assertion: assertion.clone(),
            revoked_at: None,
            revocation_reason: None,
            created_at: issued_on,
        };
        diesel::insert_into(awards::table).values(&row).execute(conn).await?;
        if !signed.credentials.is_empty() {
            let rows: Vec<AwardCredentialRow> = signed
                .credentials
                .iter()
                .map(|c| AwardCredentialRow {
                    award_id,
                    format: c.format.into(),
                    signing_key_id: c.key_id,
                    document: c.document.clone(),
                    compact: c.compact.clone(),
                    created_at: issued_on,
                    status_list_no: c.status.map(|p| p.list_no),
                    status_index: c.status.map(|p| p.index),
                })
                .collect();
            diesel::insert_into(award_credentials::table)
                .values(&rows)
                .execute(conn)
                .await?;
        }
        let mut urls = links.award(award_id);
        if badge_class.formats.iter().any(|f| f == formats::BLOCKCERTS) {
            queue_blockcerts(conn, &issuer, &badge_class, &facts, &links).await?;
            urls.blockcerts = Some(links.blockcerts_certificate(award_id));
        }
        let ob2_jws = signed.compact(formats::OB2_SIGNED);
        let ob3_jwt = signed.compact(formats::OB3_VCJWT);
        urls.ob2_signed = ob2_jws.as_ref().map(|_| links.ob2_signed(award_id));
        urls.ob3_credential = signed.ob3_credential.as_ref().map(|_| links.ob3_credential(award_id));
        let event = Event::about_award(
            EventType::BadgeIssued,
            &row,
            (&issuer.name, &badge_class.name),
            urls.clone(),
            &links,
            serde_json::json!({}),
        );
        // The outside world hears of it with the same id as the bus.
        subscriptions::events::record(conn, message_id, &event).await?;
        let issued = BadgeIssued {
            award_id,
            issuer_id: row.issuer_id,
            badge_class_id: row.badge_class_id,
            recipient: request.recipient.clone(),
            issued_on,
            expires,
            ob2_assertion: assertion,
            ob2_signed_jws: ob2_jws,
            ob3_credential: signed.ob3_credential,
            ob3_jwt,
            urls,
        };
        outbox::enqueue(conn, &Envelope::new(crate::SERVICE, issued, correlation.clone()))
            .await
            .map_err(HandlerError::transient)?;
        Ok(Outcome::Issued(award_id))
    })
    .await
}

/// Puts the award's Blockcerts certificate in the queue of the next batch.
/// It is hashed now, so that a certificate that does not canonicalize in
/// safe mode fails the award rather than a batch of a thousand.
async fn queue_blockcerts(
    conn: &mut diesel_async::AsyncPgConnection,
    issuer: &IssuerRow,
    badge_class: &BadgeClassRow,
    facts: &AssertionFacts<'_>,
    links: &PublicLinks,
) -> Result<(), HandlerError> {
    let certificate = blockcerts::certificate(issuer, badge_class, facts, links);
    let target_hash = akashi_ld::blockcerts::certificate_target_hash(&certificate)
        .await
        .map_err(|e| HandlerError::permanent(format!("Blockcerts certificate: {e}")))?;
    diesel::insert_into(blockcerts_pending::table)
        .values((
            blockcerts_pending::award_id.eq(facts.award_id),
            blockcerts_pending::issuer_id.eq(issuer.id),
            blockcerts_pending::certificate.eq(&certificate),
            blockcerts_pending::target_hash.eq(target_hash.as_slice()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One signed form of an award, as stored.
struct SignedCredential {
    format: &'static str,
    key_id: Uuid,
    document: Option<serde_json::Value>,
    /// The compact JWS / VC-JWT, or the Data Integrity `proofValue`.
    compact: String,
    status: Option<status::Position>,
}

/// The signed forms of one award.
#[derive(Default)]
struct Signed {
    credentials: Vec<SignedCredential>,
    /// The OB 3.0 JSON credential hosts serve: with its Data Integrity
    /// proof when the badge class asks for one.
    ob3_credential: Option<serde_json::Value>,
}

impl Signed {
    /// The compact form (JWS, VC-JWT) of `format`, if it was issued.
    fn compact(&self, format: &str) -> Option<String> {
        self.credentials
            .iter()
            .find(|c| c.format == format)
            .map(|c| c.compact.clone())
    }
}

/// What signing needs besides the award itself.
struct SigningContext<'a> {
    links: &'a PublicLinks,
    keyring: &'a Keyring,
    correlation: &'a Option<String>,
}

/// The issuer's active key of `algorithm`; missing means start-up has not
/// given the issuer one yet (issuers get keys when created): retry.
async fn signing_key(
    conn: &mut diesel_async::AsyncPgConnection,
    issuer_id: Uuid,
    algorithm: KeyAlgorithm,
) -> Result<SigningKeyRow, HandlerError> {
    active_key(conn, issuer_id, algorithm).await?.ok_or_else(|| {
        HandlerError::transient(format!(
            "issuer {issuer_id} has no active {} signing key yet",
            algorithm.as_str()
        ))
    })
}

/// Signs the formats the badge class asks for with the issuer's active keys.
async fn sign_formats(
    badge_class: &BadgeClassRow,
    issuer: &IssuerRow,
    hosted: &akashi_model::ob2::Assertion,
    facts: &AssertionFacts<'_>,
    context: &SigningContext<'_>,
    conn: &mut diesel_async::AsyncPgConnection,
) -> Result<Signed, HandlerError> {
    let SigningContext {
        links,
        keyring,
        correlation,
    } = context;
    let wants = |f: &str| badge_class.formats.iter().any(|x| x == f);
    let mut signed = Signed::default();
    // One RSA key (looked up once) signs both the OB 2.0 JWS and the VC-JWT.
    let rsa = if wants(formats::OB2_SIGNED) || wants(formats::OB3_VCJWT) {
        let key = signing_key(conn, issuer.id, KeyAlgorithm::Rs256).await?;
        let signer = keyring
            .signer(&key)
            .map_err(|e| HandlerError::transient(format!("signing key: {e}")))?;
        Some((key, signer))
    } else {
        None
    };
    if let Some((key, signer)) = rsa.as_ref().filter(|_| wants(formats::OB2_SIGNED)) {
        let assertion = documents::signed_assertion(hosted, facts.award_id, key.id, links);
        let jws = signer
            .sign_jws(None, None, &assertion)
            .map_err(HandlerError::permanent)?;
        signed.credentials.push(SignedCredential {
            format: formats::OB2_SIGNED,
            key_id: key.id,
            document: None,
            compact: jws,
            status: None,
        });
    }
    if !wants(formats::OB3_VCJWT) && !wants(formats::OB3_DI) {
        return Ok(signed);
    }
    let mut credential = documents::ob3_credential(issuer, badge_class, facts, links);
    let position = status::allocate(conn, issuer.id)
        .await
        .map_err(HandlerError::transient)?;
    if position.new_list {
        status::publish_list(
            conn,
            issuer.id,
            position.list_no,
            &[0; LIST_BYTES],
            keyring,
            links,
            (*correlation).clone(),
        )
        .await
        .map_err(HandlerError::transient)?;
    }
    // Both status mechanisms: the W3C Bitstring Status List (what VCDM 2.0
    // wallets read) and the 1EdTech revocation list (what the OB 3.0 text names).
    credential["credentialStatus"] = serde_json::json!([
        status_list::entry(&links.status_list(issuer.id, position.list_no), position.index),
        {"id": links.ob3_revocations(issuer.id), "type": "1EdTechRevocationList"},
    ]);
    if let Some((key, signer)) = rsa.as_ref().filter(|_| wants(formats::OB3_VCJWT)) {
        let claims = documents::vc_jwt_claims(&credential, facts.issued_on, facts.expires);
        let kid = links.key_jwk(issuer.id, key.id);
        let jwt = signer
            .sign_jws(Some(&kid), Some("JWT"), &claims)
            .map_err(HandlerError::permanent)?;
        signed.credentials.push(SignedCredential {
            format: formats::OB3_VCJWT,
            key_id: key.id,
            document: Some(credential.clone()),
            compact: jwt,
            status: Some(position),
        });
    }
    if wants(formats::OB3_DI) {
        let key = signing_key(conn, issuer.id, KeyAlgorithm::EdDsa).await?;
        let signer = keyring
            .ed25519_signer(&key)
            .map_err(|e| HandlerError::transient(format!("signing key: {e}")))?;
        let options = ProofOptions {
            verification_method: &links.ob3_verification_method(issuer.id, key.id),
            created: &documents::ob_datetime(facts.issued_on),
        };
        let secured = data_integrity::sign(&credential, &options, &signer)
            .await
            .map_err(HandlerError::permanent)?;
        signed.credentials.push(SignedCredential {
            format: formats::OB3_DI,
            key_id: key.id,
            document: Some(secured.clone()),
            compact: secured["proof"]["proofValue"].as_str().unwrap_or_default().to_string(),
            status: Some(position),
        });
        signed.ob3_credential = Some(secured);
    } else {
        signed.ob3_credential = Some(credential);
    }
    Ok(signed)
}
