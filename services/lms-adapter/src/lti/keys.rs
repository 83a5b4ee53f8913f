//! The tool's own RSA keys: they sign deep linking responses and the client
//! assertions of AGS/NRPS token requests, and are published at `/lti/jwks`.
//!
//! Every replica reads the active key from the database when it signs (rare:
//! one per deep link or token request), so a rotation on one replica is seen
//! by all; parsed keys are remembered by kid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use akashi_crypto::keys::{MasterKey, RsaSigner, generate_rsa_2048};
use akashi_runtime::ApiError;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::db::schema::lti_tool_keys;

/// How long a retired key stays published, days.
pub const RETIRED_PUBLISHED_DAYS: i64 = 30;

/// The tool's keys.
pub struct ToolKeys {
    master: Option<MasterKey>,
    parsed: Mutex<HashMap<String, Arc<RsaSigner>>>,
}

/// The active key, ready to sign.
pub struct ActiveKey {
    pub kid: String,
    pub signer: Arc<RsaSigner>,
}

#[derive(Insertable)]
#[diesel(table_name = lti_tool_keys)]
struct NewKey {
    kid: String,
    private_key: Vec<u8>,
    sealed: bool,
}

fn context(kid: &str) -> Vec<u8> {
    format!("lti-tool-key:{kid}").into_bytes()
}

impl ToolKeys {
    /// Keys sealed with `master` when given.
    pub fn new(master: Option<MasterKey>) -> Self {
        if master.is_none() {
            tracing::warn!(
                "no AKASHI_LMS_ADAPTER_MASTER_KEY: the LTI tool key is stored unsealed (set one in production)"
            );
        }
        Self {
            master,
            parsed: Mutex::new(HashMap::new()),
        }
    }

    /// Makes sure an active key exists (replicas starting together create one).
    pub async fn ensure(&self, conn: &mut AsyncPgConnection) -> Result<(), ApiError> {
        let candidate = self.new_key()?;
        conn.transaction::<_, ApiError, _>(async |conn| {
            diesel::sql_query("LOCK TABLE lti_tool_keys IN EXCLUSIVE MODE")
                .execute(conn)
                .await?;
            let active: i64 = lti_tool_keys::table
                .filter(lti_tool_keys::retired_at.is_null())
                .count()
                .get_result(conn)
                .await?;
            if active == 0 {
                diesel::insert_into(lti_tool_keys::table)
                    .values(&candidate)
                    .execute(conn)
                    .await?;
                tracing::info!(kid = %candidate.kid, "LTI tool key created");
            }
            Ok(())
        })
        .await
    }

    fn new_key(&self) -> Result<NewKey, ApiError> {
        let der = generate_rsa_2048().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
        let kid = format!("lti-{}", uuid::Uuid::now_v7().simple());
        let (private_key, sealed) = match &self.master {
            Some(m) => (m.seal(&context(&kid), &der), true),
            None => (der.to_vec(), false),
        };
        Ok(NewKey {
            kid,
            private_key,
            sealed,
        })
    }

    /// Retires the active key and makes a new one; returns the new kid.
    pub async fn rotate(&self, conn: &mut AsyncPgConnection) -> Result<String, ApiError> {
        let candidate = self.new_key()?;
        let kid = candidate.kid.clone();
        conn.transaction::<_, ApiError, _>(async |conn| {
            diesel::update(lti_tool_keys::table.filter(lti_tool_keys::retired_at.is_null()))
                .set(lti_tool_keys::retired_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
            diesel::insert_into(lti_tool_keys::table)
                .values(&candidate)
                .execute(conn)
                .await?;
            Ok(())
        })
        .await?;
        tracing::info!(%kid, "LTI tool key rotated");
        Ok(kid)
    }

    fn parse(&self, kid: &str, stored: &[u8], sealed: bool) -> Result<Arc<RsaSigner>, ApiError> {
        if let Some(s) = self.parsed.lock().expect("keys lock").get(kid) {
            return Ok(s.clone());
        }
        let der = match (sealed, &self.master) {
            (true, Some(m)) => m
                .open(&context(kid), stored)
                .map_err(|e| ApiError::internal(anyhow::anyhow!("LTI tool key {kid}: {e}")))?
                .to_vec(),
            (true, None) => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "LTI tool key {kid} is sealed but no master key is configured"
                )));
            }
            (false, _) => stored.to_vec(),
        };
        let signer = Arc::new(RsaSigner::from_pkcs8_der(&der).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?);
        self.parsed
            .lock()
            .expect("keys lock")
            .insert(kid.to_string(), signer.clone());
        Ok(signer)
    }

    /// The active key.
    pub async fn active(&self, conn: &mut AsyncPgConnection) -> Result<ActiveKey, ApiError> {
        let (kid, stored, sealed): (String, Vec<u8>, bool) = lti_tool_keys::table
            .filter(lti_tool_keys::retired_at.is_null())
            .order(lti_tool_keys::created_at.desc())
            .select((lti_tool_keys::kid, lti_tool_keys::private_key, lti_tool_keys::sealed))
            .first(conn)
            .await?;
        let signer = self.parse(&kid, &stored, sealed)?;
        Ok(ActiveKey { kid, signer })
    }

    /// The JWKS: the active key and keys retired in the last 30 days.
    pub async fn jwks(&self, conn: &mut AsyncPgConnection) -> Result<Value, ApiError> {
        let cutoff = chrono::Utc::now() - chrono::Duration::days(RETIRED_PUBLISHED_DAYS);
        let rows: Vec<(String, Vec<u8>, bool)> = lti_tool_keys::table
            .filter(
                lti_tool_keys::retired_at
                    .is_null()
                    .or(lti_tool_keys::retired_at.gt(cutoff)),
            )
            .order(lti_tool_keys::created_at.desc())
            .select((lti_tool_keys::kid, lti_tool_keys::private_key, lti_tool_keys::sealed))
            .load(conn)
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for (kid, stored, sealed) in rows {
            keys.push(self.parse(&kid, &stored, sealed)?.public().jwk(&kid));
        }
        Ok(json!({ "keys": keys }))
    }
}
