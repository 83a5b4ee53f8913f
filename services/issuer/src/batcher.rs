//! The Blockcerts batcher: gathers queued certificates into batches (by size
//! or age), anchors each batch's Merkle root once, and publishes the
//! certificates with their proofs.
//!
//! Every step is a state change of the batch row made in a transaction that
//! holds the row's lock and checks the state it expects, so the batcher can
//! stop at any point — or run in several replicas — without losing a batch
//! or anchoring one twice:
//!
//! - `built`: the tree exists (its leaves are the queue rows, in order).
//! - `signed` (Ethereum): the transaction is signed and stored *before* it
//!   is sent; after a crash the same bytes are sent again, which the
//!   network recognises as the same transaction.
//! - `anchored`: the root is on the chain with enough confirmations.
//! - `published`: certificates stored and `blockcerts.issued` in the outbox.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use akashi_bus::{Envelope, outbox};
use akashi_chain::{ANCHOR_GAS_LIMIT, BURN_ADDRESS, EthRpc, LegacyTx, RpcError};
use akashi_ld::blockcerts::{Anchor, Hash, MerkleTree, Receipt};
use akashi_model::messages::BlockcertsIssued;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::BlockcertsConfig;
use crate::db::models::{BlockcertsBatchRow, SigningKeyRow};
use crate::db::schema::{award_credentials, blockcerts_batches, blockcerts_pending, signing_keys};
use crate::domain::blockcerts::{self, AnchorChain};
use crate::domain::formats;
use crate::domain::keyring::KeyAlgorithm;
use crate::keys::active_key;
use crate::startup::AppState;

/// How often the batcher looks for due batches when nothing wakes it.
const TICK: Duration = Duration::from_millis(250);
/// How long a sent, unmined anchoring transaction waits before it is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(60);
/// How old an anchoring key must be before it anchors. Profiles give a
/// key's `created` in whole seconds and blocks their time in whole seconds;
/// verifiers refuse a key "created after the transaction", so an anchor
/// mined in the second its key was made would fail verification forever.
const KEY_SETTLE: chrono::Duration = chrono::Duration::seconds(2);
/// A JSON-RPC call's time limit.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a step did not complete; it is tried again on the next tick.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("outbox: {0}")]
    Outbox(#[from] outbox::OutboxError),
    #[error("Ethereum: {0}")]
    Rpc(#[from] RpcError),
    #[error("{0}")]
    Other(String),
}

/// The batcher's own state.
pub struct Batcher {
    state: AppState,
    config: BlockcertsConfig,
    rpc: Option<EthRpc>,
    /// When each signed transaction was last sent by this process.
    sent: Mutex<HashMap<Uuid, Instant>>,
}

impl Batcher {
    /// A batcher for `config`.
    pub fn new(state: AppState, config: BlockcertsConfig) -> Self {
        let rpc = config
            .ethereum_rpc_url
            .as_deref()
            .filter(|_| config.chain != AnchorChain::Mocknet)
            .map(|url| EthRpc::new(url, RPC_TIMEOUT));
        Self {
            state,
            config,
            rpc,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Runs until `shutdown`: on every wake-up (a certificate was queued) and
    /// every tick, forms the batches that are due and moves every unfinished
    /// batch as far as it can go.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(
            chain = self.config.chain.as_str(),
            batch_size = self.config.batch_size,
            max_wait_ms = self.config.max_wait_ms,
            "blockcerts batcher started"
        );
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.state.batcher_wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
            if let Err(e) = self.step().await {
                tracing::warn!(error = %e, "blockcerts batcher: will retry");
            }
        }
    }

    /// One pass: form due batches, then advance every unfinished one.
    pub async fn step(&self) -> Result<(), BatchError> {
        self.form_due_batches().await?;
        let mut conn = self.conn().await?;
        let unfinished: Vec<BlockcertsBatchRow> = blockcerts_batches::table
            .filter(blockcerts_batches::state.ne("published"))
            .order(blockcerts_batches::created_at)
            .select(BlockcertsBatchRow::as_select())
            .load(&mut conn)
            .await?;
        drop(conn);
        for batch in unfinished {
            // One stuck batch (a node that is down, an unfunded account)
            // must not hold back the others.
            if let Err(e) = self.advance(batch.id).await {
                tracing::warn!(batch_id = %batch.id, error = %e, "blockcerts batch not advanced; will retry");
            }
        }
        Ok(())
    }

    async fn conn(&self) -> Result<akashi_db::PooledConn, BatchError> {
        akashi_db::conn(&self.state.pool)
            .await
            .map_err(|e| BatchError::Pool(e.to_string()))
    }

    /// Forms a batch for every issuer whose queue is full or whose oldest
    /// certificate has waited `max_wait_ms`.
    async fn form_due_batches(&self) -> Result<(), BatchError> {
        let mut conn = self.conn().await?;
        let queues: Vec<(Uuid, i64, Option<DateTime<Utc>>)> = blockcerts_pending::table
            .filter(blockcerts_pending::batch_id.is_null())
            .group_by(blockcerts_pending::issuer_id)
            .select((
                blockcerts_pending::issuer_id,
                diesel::dsl::count_star(),
                diesel::dsl::min(blockcerts_pending::created_at),
            ))
            .load(&mut conn)
            .await?;
        drop(conn);
        let max_wait = chrono::Duration::milliseconds(self.config.max_wait_ms as i64);
        for (issuer_id, queued, oldest) in queues {
            let full = queued as usize >= self.config.batch_size;
            let old = oldest.is_some_and(|t| t + max_wait <= Utc::now());
            if !(full || old) {
                continue;
            }
            // A backlog becomes full batches; what is left waits for its own
            // deadline unless the queue was due by age.
            let mut remaining = queued as usize;
            while remaining >= self.config.batch_size || (old && remaining > 0) {
                let formed = self.form_batch(issuer_id).await?;
                if formed == 0 {
                    break;
                }
                remaining = remaining.saturating_sub(formed);
            }
        }
        Ok(())
    }

    /// Forms one batch from the oldest queued certificates of an issuer;
    /// returns its size (0 when another replica took them).
    async fn form_batch(&self, issuer_id: Uuid) -> Result<usize, BatchError> {
        let mut conn = self.conn().await?;
        let (chain, size) = (self.config.chain, self.config.batch_size as i64);
        let formed = conn
            .transaction::<_, BatchError, _>(async |conn| {
                let queued: Vec<(Uuid, Vec<u8>)> = blockcerts_pending::table
                    .filter(
                        blockcerts_pending::issuer_id
                            .eq(issuer_id)
                            .and(blockcerts_pending::batch_id.is_null()),
                    )
                    .order((blockcerts_pending::created_at, blockcerts_pending::award_id))
                    .limit(size)
                    .select((blockcerts_pending::award_id, blockcerts_pending::target_hash))
                    .for_update()
                    .skip_locked()
                    .load(conn)
                    .await?;
                if queued.is_empty() {
                    return Ok(None);
                }
                let key = active_key(conn, issuer_id, KeyAlgorithm::Es256k)
                    .await?
                    .ok_or_else(|| BatchError::Other(format!("issuer {issuer_id} has no anchoring key yet")))?;
                let tree = MerkleTree::new(queued.iter().map(|(_, h)| leaf(h)).collect::<Result<_, _>>()?);
                let batch_id = Uuid::now_v7();
                let now = Utc::now();
                diesel::insert_into(blockcerts_batches::table)
                    .values(&BlockcertsBatchRow {
                        id: batch_id,
                        issuer_id,
                        chain: chain.as_str().into(),
                        state: "built".into(),
                        size: queued.len() as i32,
                        merkle_root: tree.root().to_vec(),
                        anchoring_key_id: key.id,
                        raw_tx: None,
                        nonce: None,
                        tx_hash: None,
                        anchor: None,
                        anchored_at: None,
                        created_at: now,
                        updated_at: now,
                    })
                    .execute(conn)
                    .await?;
                let award_ids: Vec<Uuid> = queued.iter().map(|(id, _)| *id).collect();
                diesel::sql_query(
                    "UPDATE blockcerts_pending p SET batch_id = $1, leaf_index = (u.n - 1)::int \
                     FROM unnest($2::uuid[]) WITH ORDINALITY AS u(award_id, n) WHERE p.award_id = u.award_id",
                )
                .bind::<diesel::sql_types::Uuid, _>(batch_id)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&award_ids)
                .execute(conn)
                .await?;
                Ok(Some((batch_id, queued.len(), tree.root())))
            })
            .await?;
        Ok(match formed {
            Some((batch_id, size, root)) => {
                tracing::info!(%batch_id, %issuer_id, size, merkle_root = %hex::encode(root), "blockcerts batch built");
                size
            }
            None => 0,
        })
    }

    /// Moves a batch through its states as far as it can go now.
    pub async fn advance(&self, batch_id: Uuid) -> Result<(), BatchError> {
        loop {
            let batch = self.load(batch_id).await?;
            let moved = match batch.state.as_str() {
                "built" => match self.chain_of(&batch)? {
                    AnchorChain::Mocknet => self.anchor_on_mocknet(&batch).await?,
                    _ => self.sign_anchor(&batch).await?,
                },
                "signed" => self.confirm_anchor(&batch).await?,
                "anchored" => self.publish(&batch).await?,
                _ => false,
            };
            if !moved {
                return Ok(());
            }
        }
    }

    async fn load(&self, batch_id: Uuid) -> Result<BlockcertsBatchRow, BatchError> {
        let mut conn = self.conn().await?;
        Ok(blockcerts_batches::table
            .find(batch_id)
            .select(BlockcertsBatchRow::as_select())
            .first(&mut conn)
            .await?)
    }

    fn chain_of(&self, batch: &BlockcertsBatchRow) -> Result<AnchorChain, BatchError> {
        serde_json::from_value(serde_json::json!(batch.chain))
            .map_err(|_| BatchError::Other(format!("batch {} names an unknown chain {}", batch.id, batch.chain)))
    }

    fn rpc(&self) -> Result<&EthRpc, BatchError> {
        self.rpc.as_ref().ok_or_else(|| {
            BatchError::Other("an Ethereum batch waits, but no blockcerts.ethereum_rpc_url is configured".into())
        })
    }

    /// Sets the batch's state from `from` to `to` with `changes`, if it is
    /// still in `from`: the guard that makes every transition happen once.
    async fn transition<C>(&self, batch_id: Uuid, from: &str, changes: C) -> Result<bool, BatchError>
    where
        C: diesel::AsChangeset<Target = blockcerts_batches::table> + Send,
        C::Changeset: diesel::query_builder::QueryFragment<diesel::pg::Pg> + Send,
    {
        let mut conn = self.conn().await?;
        let updated = diesel::update(
            blockcerts_batches::table.filter(
                blockcerts_batches::id
                    .eq(batch_id)
                    .and(blockcerts_batches::state.eq(from)),
            ),
        )
        .set(changes)
        .execute(&mut conn)
        .await?;
        Ok(updated == 1)
    }

    /// Mocknet: nothing is sent; the anchor names the root itself.
    async fn anchor_on_mocknet(&self, batch: &BlockcertsBatchRow) -> Result<bool, BatchError> {
        let anchor = anchor_of(batch, AnchorChain::Mocknet)?;
        self.transition(
            batch.id,
            "built",
            (
                blockcerts_batches::state.eq("anchored"),
                blockcerts_batches::anchor.eq(anchor.blink()),
                blockcerts_batches::anchored_at.eq(Utc::now()),
                blockcerts_batches::updated_at.eq(Utc::now()),
            ),
        )
        .await
    }

    /// Ethereum: signs the anchoring transaction and stores it before
    /// anything is sent. The account's row is locked meanwhile, so that two
    /// batches of one issuer never get the same nonce.
    async fn sign_anchor(&self, batch: &BlockcertsBatchRow) -> Result<bool, BatchError> {
        let rpc = self.rpc()?;
        let network = self
            .chain_of(batch)?
            .eth_network()
            .ok_or_else(|| BatchError::Other("not an Ethereum batch".into()))?;
        let expected_chain_id = akashi_ld::blockcerts::EthNetwork::chain_id(network);
        let chain_id = rpc.chain_id().await?;
        if chain_id != expected_chain_id {
            // Anchoring on another network than the proofs will name would
            // make every certificate of the batch unverifiable.
            return Err(BatchError::Other(format!(
                "the Ethereum node is on chain {chain_id}, but {} is configured (chain {expected_chain_id})",
                batch.chain
            )));
        }
        let gas_price = rpc.gas_price().await?;
        let keyring = self.state.keyring.clone();
        let mut conn = self.conn().await?;
        let signed = conn
            .transaction::<_, BatchError, _>(async |conn| {
                if locked_state(conn, batch.id).await? != "built" {
                    return Ok(false);
                }
                let key: SigningKeyRow = signing_keys::table
                    .find(batch.anchoring_key_id)
                    .select(SigningKeyRow::as_select())
                    .for_update()
                    .first(conn)
                    .await?;
                if key.valid_from + KEY_SETTLE > Utc::now() {
                    return Ok(false);
                }
                let account = keyring
                    .anchoring_key(&key)
                    .map_err(|e| BatchError::Other(format!("anchoring key: {e}")))?;
                let on_chain = rpc.pending_nonce(account.address()).await?;
                let in_flight: Option<i64> = blockcerts_batches::table
                    .filter(
                        blockcerts_batches::anchoring_key_id
                            .eq(key.id)
                            .and(blockcerts_batches::state.eq("signed")),
                    )
                    .select(diesel::dsl::max(blockcerts_batches::nonce))
                    .first(conn)
                    .await?;
                let nonce = in_flight.map_or(on_chain, |n| on_chain.max(n as u64 + 1));
                let tx = LegacyTx {
                    nonce,
                    gas_price,
                    gas_limit: ANCHOR_GAS_LIMIT,
                    to: BURN_ADDRESS,
                    value: 0,
                    data: batch.merkle_root.clone(),
                }
                .sign(chain_id, &account);
                diesel::update(blockcerts_batches::table.find(batch.id))
                    .set((
                        blockcerts_batches::state.eq("signed"),
                        blockcerts_batches::raw_tx.eq(&tx.raw),
                        blockcerts_batches::tx_hash.eq(tx.hash.as_slice()),
                        blockcerts_batches::nonce.eq(nonce as i64),
                        blockcerts_batches::updated_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
                tracing::info!(batch_id = %batch.id, nonce, tx_hash = %hex::encode(tx.hash), from = %account.address().to_hex(), "anchoring transaction signed");
                Ok(true)
            })
            .await?;
        Ok(signed)
    }

    /// Ethereum: sends the stored transaction (again, if need be) and marks
    /// the batch anchored once the transaction has `confirmations` blocks.
    async fn confirm_anchor(&self, batch: &BlockcertsBatchRow) -> Result<bool, BatchError> {
        let rpc = self.rpc()?;
        let (Some(raw), Some(hash)) = (batch.raw_tx.as_ref(), batch.tx_hash.as_ref()) else {
            return Err(BatchError::Other(format!(
                "batch {} is signed but has no transaction",
                batch.id
            )));
        };
        let hash: [u8; 32] = leaf(hash)?;
        let Some(receipt) = rpc.receipt(&hash).await? else {
            self.send(batch, raw, &hash).await?;
            return Ok(false);
        };
        if !receipt.succeeded {
            return Err(BatchError::Other(format!(
                "anchoring transaction {} failed on chain",
                hex::encode(hash)
            )));
        }
        let head = rpc.block_number().await?;
        let confirmations = (head + 1).saturating_sub(receipt.block_number);
        if confirmations < self.config.confirmations {
            tracing::debug!(batch_id = %batch.id, confirmations, "anchor awaiting confirmations");
            return Ok(false);
        }
        let timestamp = rpc.block_timestamp(receipt.block_number).await?;
        let anchored_at = DateTime::from_timestamp(timestamp, 0)
            .ok_or_else(|| BatchError::Other(format!("block time {timestamp} is out of range")))?;
        let anchor = anchor_of(batch, self.chain_of(batch)?)?;
        let moved = self
            .transition(
                batch.id,
                "signed",
                (
                    blockcerts_batches::state.eq("anchored"),
                    blockcerts_batches::anchor.eq(anchor.blink()),
                    blockcerts_batches::anchored_at.eq(anchored_at),
                    blockcerts_batches::updated_at.eq(Utc::now()),
                ),
            )
            .await?;
        tracing::info!(batch_id = %batch.id, block = receipt.block_number, anchor = %anchor.blink(), "batch anchored");
        Ok(moved)
    }

    /// Sends a signed transaction unless this process sent it recently. A
    /// node that knows it already is fine; a nonce that another transaction
    /// took sends the batch back to be signed again.
    async fn send(&self, batch: &BlockcertsBatchRow, raw: &[u8], hash: &[u8; 32]) -> Result<(), BatchError> {
        let rpc = self.rpc()?;
        let recently = self
            .sent
            .lock()
            .expect("sent lock")
            .get(&batch.id)
            .is_some_and(|at| at.elapsed() < RESEND_AFTER);
        if recently {
            return Ok(());
        }
        match rpc.send_raw(raw).await {
            Ok(returned) if &returned == hash => {}
            Ok(returned) => {
                return Err(BatchError::Other(format!(
                    "the node names the anchoring transaction {} but it hashes to {}",
                    hex::encode(returned),
                    hex::encode(hash)
                )));
            }
            Err(RpcError::Node { message, .. }) if message.to_lowercase().contains("already known") => {}
            Err(RpcError::Node { message, .. }) if message.to_lowercase().contains("nonce too low") => {
                if rpc.receipt(hash).await?.is_none() {
                    tracing::warn!(batch_id = %batch.id, "the anchoring transaction's nonce was used by another transaction: signing it again");
                    self.transition(
                        batch.id,
                        "signed",
                        (
                            blockcerts_batches::state.eq("built"),
                            blockcerts_batches::raw_tx.eq(None::<Vec<u8>>),
                            blockcerts_batches::tx_hash.eq(None::<Vec<u8>>),
                            blockcerts_batches::nonce.eq(None::<i64>),
                        ),
                    )
                    .await?;
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        self.sent.lock().expect("sent lock").insert(batch.id, Instant::now());
        tracing::info!(batch_id = %batch.id, tx_hash = %hex::encode(hash), "anchoring transaction sent");
        Ok(())
    }

    /// Stores every certificate of an anchored batch with its proof and puts
    /// one `blockcerts.issued` per certificate in the outbox, in one transaction.
    async fn publish(&self, batch: &BlockcertsBatchRow) -> Result<bool, BatchError> {
        let chain = self.chain_of(batch)?;
        let anchor = anchor_of(batch, chain)?;
        let anchored_at = batch
            .anchored_at
            .ok_or_else(|| BatchError::Other(format!("batch {} is anchored without a time", batch.id)))?;
        let links = self.state.links.clone();
        let mut conn = self.conn().await?;
        let published = conn
            .transaction::<_, BatchError, _>(async |conn| {
                if locked_state(conn, batch.id).await? != "anchored" {
                    return Ok(0);
                }
                let members: Vec<(Uuid, serde_json::Value, Vec<u8>)> = blockcerts_pending::table
                    .filter(blockcerts_pending::batch_id.eq(batch.id))
                    .order(blockcerts_pending::leaf_index)
                    .select((
                        blockcerts_pending::award_id,
                        blockcerts_pending::certificate,
                        blockcerts_pending::target_hash,
                    ))
                    .load(conn)
                    .await?;
                let leaves: Vec<Hash> = members.iter().map(|(_, _, h)| leaf(h)).collect::<Result<_, _>>()?;
                let tree = MerkleTree::new(leaves.clone());
                if tree.root().as_slice() != batch.merkle_root.as_slice() {
                    return Err(BatchError::Other(format!(
                        "batch {}: its certificates no longer hash to the anchored root",
                        batch.id
                    )));
                }
                let method = links.blockcerts_verification_method(batch.issuer_id, batch.anchoring_key_id);
                let now = Utc::now();
                for (index, (award_id, certificate, _)) in members.iter().enumerate() {
                    let receipt = Receipt {
                        merkle_root: tree.root(),
                        target_hash: leaves[index],
                        path: tree.path(index),
                        anchors: vec![anchor.clone()],
                    };
                    let mut certificate = certificate.clone();
                    certificate["proof"] = blockcerts::proof(&receipt, anchored_at, &method);
                    diesel::insert_into(award_credentials::table)
                        .values((
                            award_credentials::award_id.eq(award_id),
                            award_credentials::format.eq(formats::BLOCKCERTS),
                            award_credentials::signing_key_id.eq(batch.anchoring_key_id),
                            award_credentials::document.eq(&certificate),
                            award_credentials::compact
                                .eq(&certificate["proof"]["proofValue"].as_str().unwrap_or_default()),
                            award_credentials::created_at.eq(now),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await?;
                    let issued = BlockcertsIssued {
                        award_id: *award_id,
                        issuer_id: batch.issuer_id,
                        url: links.blockcerts_certificate(*award_id),
                        certificate,
                        chain: batch.chain.clone(),
                        anchor: anchor.blink(),
                        anchored_at,
                        batch_id: batch.id,
                        batch_size: batch.size,
                    };
                    outbox::enqueue(conn, &Envelope::new(crate::SERVICE, issued, None)).await?;
                }
                diesel::delete(blockcerts_pending::table.filter(blockcerts_pending::batch_id.eq(batch.id)))
                    .execute(conn)
                    .await?;
                diesel::update(blockcerts_batches::table.find(batch.id))
                    .set((
                        blockcerts_batches::state.eq("published"),
                        blockcerts_batches::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                Ok(members.len())
            })
            .await?;
        if published == 0 {
            return Ok(false);
        }
        self.state.relay.wake();
        tracing::info!(batch_id = %batch.id, certificates = published, anchor = %anchor.blink(), "blockcerts batch published");
        Ok(true)
    }
}

/// A batch's state, its row locked until the caller's transaction ends.
async fn locked_state(conn: &mut diesel_async::AsyncPgConnection, batch_id: Uuid) -> QueryResult<String> {
    blockcerts_batches::table
        .find(batch_id)
        .select(blockcerts_batches::state)
        .for_update()
        .first(conn)
        .await
}

/// A stored 32-byte hash.
fn leaf(bytes: &[u8]) -> Result<Hash, BatchError> {
    bytes
        .try_into()
        .map_err(|_| BatchError::Other(format!("a stored hash has {} bytes, not 32", bytes.len())))
}

/// The anchor of a batch: on mocknet the root names itself; on Ethereum
/// the transaction hash, written without `0x` (research notes, blockcerts §8).
fn anchor_of(batch: &BlockcertsBatchRow, chain: AnchorChain) -> Result<Anchor, BatchError> {
    match chain.eth_network() {
        None => Ok(Anchor::Mocknet {
            txid: batch.merkle_root.clone(),
        }),
        Some(network) => Ok(Anchor::Ethereum {
            network,
            tx_hash: leaf(
                batch
                    .tx_hash
                    .as_deref()
                    .ok_or_else(|| BatchError::Other(format!("batch {} has no transaction", batch.id)))?,
            )?,
        }),
    }
}
