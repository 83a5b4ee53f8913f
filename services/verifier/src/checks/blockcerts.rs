//! Blockcerts v3 (`merkle-proof-2019`): the reference verifier's steps —
//! proof fields, local hash, Merkle receipt, anchor lookup, issuer key valid
//! at anchoring time, revocation, dates — and Akashi's own on top: the
//! anchor's network must be the node's, the key a JWK in the profile must
//! belong to the transaction's sender, and JSON-LD is read in safe mode.

use akashi_chain::{Address, EthRpc};
use akashi_ld::blockcerts::{Anchor, Receipt, TargetHashError, certificate_target_hash};
use akashi_model::EmailAddress;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::checks::SKEW_SECS;
use crate::checks::ob2_hosted::{Fetch, Findings, fetch_node, report_recipient};
use crate::domain::fetch::Fetcher;
use crate::domain::report::{BadgeSummary, Checks, IssuerSummary, Status};

/// The Blockcerts contexts (every alias the reference verifier preloads).
fn is_blockcerts_context(context: &str) -> bool {
    context.starts_with("https://w3id.org/blockcerts/") || context.starts_with("https://www.blockcerts.org/schema/")
}

/// Whether `document` is a Blockcerts v3 certificate.
pub fn is_blockcerts(document: &Value) -> bool {
    let typed = document["type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "BlockcertsCredential"));
    let contexts = document["@context"]
        .as_array()
        .is_some_and(|c| c.iter().filter_map(Value::as_str).any(is_blockcerts_context));
    let merkle_proof = proofs(document).iter().any(|p| is_merkle_proof(p));
    typed || (contexts && merkle_proof)
}

fn proofs(document: &Value) -> Vec<&Value> {
    match &document["proof"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&document["proof"]],
        _ => Vec::new(),
    }
}

/// The modern form (`DataIntegrityProof` + `merkle-proof-2019`) or the legacy `MerkleProof2019`.
fn is_merkle_proof(proof: &Value) -> bool {
    (proof["type"] == "DataIntegrityProof" && proof["cryptosuite"] == "merkle-proof-2019")
        || proof["type"] == "MerkleProof2019"
}

fn time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

/// What the anchor lookup established.
struct Anchoring {
    /// The transaction's sender (a real chain only).
    sender: Option<Address>,
    /// When the root was anchored (a real chain only).
    at: Option<DateTime<Utc>>,
}

/// Runs the Blockcerts procedure on `certificate` (fetched from `fetched_from`, if by URL).
pub async fn verify(
    fetcher: &Fetcher,
    ethereum: Option<&EthRpc>,
    certificate: &Value,
    fetched_from: Option<&url::Url>,
    expected_recipient: Option<&EmailAddress>,
    trusted: &[String],
    checks: &mut Checks,
) -> Findings {
    let mut findings = Findings {
        credential_id: certificate["id"].as_str().map(str::to_owned),
        ..Default::default()
    };
    let Some(receipt) = check_proof(certificate, checks) else {
        return findings;
    };
    let Some(issuer_id) = check_shape(certificate, fetched_from, checks) else {
        return findings;
    };
    if !check_local_hash(certificate, &receipt, checks).await {
        return findings;
    }
    if !receipt.path_leads_to_root() {
        checks.fail(
            "merkle_receipt",
            Status::Invalid,
            "The Merkle path does not lead from the certificate's hash to the anchored root.",
            "Merkle パスが証明書のハッシュからアンカーされたルートに至りません。",
        );
        return findings;
    }
    checks.pass(
        "merkle_receipt",
        format!(
            "The Merkle path ({} steps) leads to the root {}.",
            receipt.path.len(),
            hex::encode(receipt.merkle_root)
        ),
        format!("Merkle パス({} 段)がルートに至ります。", receipt.path.len()),
    );
    let Some(anchoring) = check_anchor(ethereum, &receipt, checks).await else {
        return findings;
    };
    let Some(profile) = fetch_profile(fetcher, &issuer_id, checks).await else {
        return findings;
    };
    findings.issuer = Some(IssuerSummary {
        id: issuer_id.clone(),
        name: profile["name"].as_str().map(str::to_owned),
        trusted: trusted.iter().any(|t| t == &issuer_id),
    });
    let claim = &certificate["credentialSubject"]["claim"];
    findings.badge = Some(BadgeSummary {
        id: claim["url"]
            .as_str()
            .or(certificate["id"].as_str())
            .unwrap_or_default()
            .to_string(),
        name: claim["name"]
            .as_str()
            .or(certificate["name"].as_str())
            .map(str::to_owned),
        description: claim["description"]
            .as_str()
            .or(certificate["description"].as_str())
            .map(str::to_owned),
        image: claim["image"].as_str().map(str::to_owned),
    });
    if !check_issuer_key(certificate, &profile, &anchoring, checks) {
        return findings;
    }
    let must_be_hosted = anchoring.sender.is_none();
    if !check_hosted_copy(fetcher, certificate, &issuer_id, fetched_from, must_be_hosted, checks).await {
        return findings;
    }
    check_dates(certificate, &mut findings, checks);
    findings.recipient = Some(report_recipient(expected_recipient, checks, |email| {
        recipient_matches(&certificate["credentialSubject"], email)
    }));
    check_revocation(fetcher, certificate, &profile, checks).await;
    findings
}

/// The proof's fields, and its receipt decoded.
fn check_proof(certificate: &Value, checks: &mut Checks) -> Option<Receipt> {
    let all = proofs(certificate);
    let Some(proof) = all.iter().copied().find(|p| is_merkle_proof(p)) else {
        checks.fail(
            "proof",
            Status::Invalid,
            "No merkle-proof-2019 proof (DataIntegrityProof or MerkleProof2019).",
            "merkle-proof-2019 の証明がありません。",
        );
        return None;
    };
    if all.len() > 1 {
        // Chained proofs (ChainedProof2021) hash the earlier proofs in too;
        // Akashi does not read them yet, and says so rather than guess.
        checks.fail(
            "proof",
            Status::Unknown,
            "Several proofs: chained Blockcerts proofs are not verified by Akashi.",
            "複数の証明があります(連鎖した証明には対応していません)。",
        );
        return None;
    }
    let purpose_ok = proof["proofPurpose"] == "assertionMethod";
    let created_ok = proof["created"].as_str().and_then(time).is_some();
    if !(purpose_ok && created_ok) {
        checks.fail(
            "proof",
            Status::Invalid,
            "The proof needs proofPurpose assertionMethod and a created date.",
            "証明には proofPurpose assertionMethod と created が必要です。",
        );
        return None;
    }
    match Receipt::decode(proof["proofValue"].as_str().unwrap_or_default()) {
        Ok(receipt) => {
            checks.pass(
                "proof",
                "A merkle-proof-2019 proof with a readable receipt.",
                "読み取れる受領証をもつ merkle-proof-2019 の証明です。",
            );
            Some(receipt)
        }
        Err(e) => {
            checks.fail(
                "proof",
                Status::Invalid,
                format!("The proofValue cannot be read: {e}."),
                format!("proofValue を読み取れません: {e}"),
            );
            None
        }
    }
}

/// Contexts, types, issuer and subject as a Blockcerts v3 verifiable
/// credential needs them; answers the issuer's id.
fn check_shape(certificate: &Value, fetched_from: Option<&url::Url>, checks: &mut Checks) -> Option<String> {
    let contexts: Vec<&str> = certificate["@context"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let vc_context = matches!(
        contexts.first(),
        Some(&"https://www.w3.org/2018/credentials/v1" | &"https://www.w3.org/ns/credentials/v2")
    );
    let issuer_id = certificate["issuer"]
        .get("id")
        .unwrap_or(&certificate["issuer"])
        .as_str()
        .unwrap_or_default()
        .to_string();
    let typed = certificate["type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "VerifiableCredential"));
    let shaped = vc_context
        && typed
        && (issuer_id.starts_with("https://") || issuer_id.starts_with("http://"))
        && certificate["credentialSubject"].is_object();
    if !shaped {
        checks.fail(
            "credential_shape",
            Status::Invalid,
            "Not a Blockcerts v3 credential (a VC context first, VerifiableCredential, an issuer URL, a subject).",
            "Blockcerts v3 の資格情報ではありません。",
        );
        return None;
    }
    if let Some(url) = fetched_from
        && let Some(id) = certificate["id"].as_str()
        && (id.starts_with("http://") || id.starts_with("https://"))
        && id != url.as_str()
    {
        checks.fail(
            "id_matches_url",
            Status::Invalid,
            format!("The certificate's id {id} is not the URL it was fetched from."),
            format!("証明書の id {id} が取得元の URL と一致しません。"),
        );
        return None;
    }
    checks.pass(
        "credential_shape",
        "A Blockcerts v3 verifiable credential.",
        "Blockcerts v3 の検証可能な資格情報です。",
    );
    Some(issuer_id)
}

/// The certificate's own hash (safe-mode canonical form) against the receipt's target.
async fn check_local_hash(certificate: &Value, receipt: &Receipt, checks: &mut Checks) -> bool {
    match certificate_target_hash(certificate).await {
        Ok(hash) if hash == receipt.target_hash => {
            checks.pass(
                "local_hash",
                "The certificate hashes to the receipt's target hash: it is unchanged.",
                "証明書のハッシュが受領証の対象ハッシュと一致します(改ざんなし)。",
            );
            true
        }
        Ok(_) => {
            checks.fail(
                "local_hash",
                Status::Invalid,
                "The certificate does not hash to the receipt's target hash: it was changed after issuance.",
                "証明書のハッシュが受領証と一致しません(発行後に変更されています)。",
            );
            false
        }
        Err(TargetHashError::Canon(e @ akashi_ld::CanonError::TooComplex(_))) => {
            checks.too_complex(e);
            false
        }
        Err(TargetHashError::Unmapped(fields)) => {
            checks.fail(
                "json_ld",
                Status::Invalid,
                format!("Fields that no context defines: {fields}."),
                format!("どのコンテキストにも定義されていないフィールドがあります: {fields}"),
            );
            false
        }
        Err(e) => {
            checks.fail(
                "json_ld",
                Status::Invalid,
                format!("The certificate is not well-formed JSON-LD: {e}."),
                format!("証明書が正しい JSON-LD ではありません: {e}"),
            );
            false
        }
    }
}

/// The anchor: nothing to look up on mocknet (a warning says what that
/// means); on Ethereum the transaction must carry the root.
async fn check_anchor(ethereum: Option<&EthRpc>, receipt: &Receipt, checks: &mut Checks) -> Option<Anchoring> {
    let Some(anchor) = receipt.anchors.first() else {
        checks.fail(
            "anchor",
            Status::Invalid,
            "The receipt names no anchor.",
            "受領証にアンカーがありません。",
        );
        return None;
    };
    let (network, tx_hash) = match anchor {
        Anchor::Mocknet { .. } => {
            checks.warn(
                "anchor",
                "Anchored on mocknet, a test chain: the batch is intact, but no blockchain vouches for its time or issuer.",
                "テスト用の mocknet にアンカーされています。バッチは改ざんされていませんが、時刻と発行者はブロックチェーンで保証されません。",
            );
            return Some(Anchoring { sender: None, at: None });
        }
        Anchor::Ethereum { network, tx_hash } => (*network, *tx_hash),
    };
    let Some(rpc) = ethereum else {
        checks.fail(
            "anchor",
            Status::Unknown,
            format!(
                "{}: no Ethereum node is configured to look the anchor up.",
                anchor.blink()
            ),
            "アンカーを照会する Ethereum ノードが設定されていません。",
        );
        return None;
    };
    let unknown = |checks: &mut Checks, e: String| {
        checks.fail(
            "anchor",
            Status::Unknown,
            format!("The anchor could not be looked up: {e}."),
            format!("アンカーを照会できませんでした: {e}"),
        );
    };
    match rpc.chain_id().await {
        Ok(id) if id == network.chain_id() => {}
        Ok(id) => {
            unknown(
                checks,
                format!(
                    "the anchor is on chain {}, the configured node on chain {id}",
                    network.chain_id()
                ),
            );
            return None;
        }
        Err(e) => {
            unknown(checks, e.to_string());
            return None;
        }
    }
    let tx = match rpc.transaction(&tx_hash).await {
        Ok(Some(tx)) => tx,
        Ok(None) => {
            checks.fail(
                "anchor",
                Status::Invalid,
                format!("The chain has no transaction {}.", hex::encode(tx_hash)),
                "チェーンにそのトランザクションがありません。",
            );
            return None;
        }
        Err(e) => {
            unknown(checks, e.to_string());
            return None;
        }
    };
    let Some(block) = tx.block_number else {
        checks.fail(
            "anchor",
            Status::Unknown,
            "The anchoring transaction is not mined yet.",
            "アンカーのトランザクションはまだ採掘されていません。",
        );
        return None;
    };
    if tx.input != receipt.merkle_root {
        checks.fail(
            "anchor",
            Status::Invalid,
            "The anchoring transaction carries another Merkle root.",
            "アンカーのトランザクションが別の Merkle ルートを記録しています。",
        );
        return None;
    }
    let at = match rpc.block_timestamp(block).await {
        Ok(t) => DateTime::from_timestamp(t, 0),
        Err(e) => {
            unknown(checks, e.to_string());
            return None;
        }
    };
    checks.pass(
        "anchor",
        format!(
            "The root is recorded on Ethereum ({}) in block {block}.",
            anchor.blink()
        ),
        format!("ルートは Ethereum のブロック {block} に記録されています。"),
    );
    Some(Anchoring {
        sender: Some(tx.from),
        at,
    })
}

/// The issuer profile at the issuer's id.
async fn fetch_profile(fetcher: &Fetcher, issuer_id: &str, checks: &mut Checks) -> Option<Value> {
    let Ok(url) = url::Url::parse(issuer_id) else {
        checks.fail(
            "fetch_issuer",
            Status::Invalid,
            "The issuer is not a URL.",
            "発行者が URL ではありません。",
        );
        return None;
    };
    let Fetch::Json(profile) = fetch_node(
        fetcher,
        checks,
        "fetch_issuer",
        ("issuer profile", "発行者プロファイル"),
        &url,
    )
    .await
    else {
        return None;
    };
    let typed = |t: &Value| {
        t.as_str().is_some_and(|t| {
            ["profile", "issuer", "blockcertsissuerprofile"].contains(&t.to_ascii_lowercase().as_str())
        })
    };
    let type_ok = match &profile["type"] {
        Value::Array(items) => items.iter().any(typed),
        other => typed(other),
    };
    if !type_ok || profile["id"] != issuer_id {
        checks.fail(
            "issuer_profile",
            Status::Invalid,
            "The issuer's document is not a Profile whose id is its URL.",
            "発行者の文書が、id が URL と一致する Profile ではありません。",
        );
        return None;
    }
    Some(profile)
}

/// A real chain's sender must be one of the issuer's anchoring keys, valid
/// when the root was anchored; a JWK the proof names must be that key.
fn check_issuer_key(certificate: &Value, profile: &Value, anchoring: &Anchoring, checks: &mut Checks) -> bool {
    let (Some(sender), Some(at)) = (anchoring.sender, anchoring.at) else {
        checks.skip(
            "issuer_key",
            "A test chain has no sender to check against the issuer's keys: the issuer's hosted copy must vouch instead.",
            "テスト用チェーンのため送信者の鍵は確認できません。発行者がホストする写しで確認します。",
        );
        return true;
    };
    let listed = profile["publicKey"].as_array().into_iter().flatten().find(|k| {
        let id = k.get("id").unwrap_or(k).as_str().unwrap_or_default();
        Address::parse(id.trim_start_matches("ecdsa-koblitz-pubkey:")) == Some(sender)
    });
    let Some(key) = listed else {
        checks.fail(
            "issuer_key",
            Status::Invalid,
            format!(
                "The anchor was sent by {}, which is not among the issuer's keys.",
                sender.to_hex()
            ),
            format!("アンカーの送信者 {} は発行者の鍵ではありません。", sender.to_hex()),
        );
        return false;
    };
    let bound = |field: &str| key[field].as_str().and_then(time);
    let valid_at_anchoring = bound("created").is_none_or(|c| c <= at)
        && bound("revoked").is_none_or(|r| r > at)
        && bound("expires").is_none_or(|e| e > at);
    if !valid_at_anchoring {
        checks.fail(
            "issuer_key",
            Status::Invalid,
            format!(
                "The issuer's key {} was not valid when the root was anchored ({at}).",
                sender.to_hex()
            ),
            format!(
                "アンカー時点({at})で発行者の鍵 {} は有効ではありませんでした。",
                sender.to_hex()
            ),
        );
        return false;
    }
    let method_id = proofs(certificate)
        .first()
        .and_then(|p| p["verificationMethod"].as_str())
        .unwrap_or_default()
        .to_string();
    let method = profile["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| {
            let id = m["id"].as_str().unwrap_or_default();
            !method_id.is_empty() && (id == method_id || method_id.ends_with(id))
        });
    if let Some(method) = method
        && Address::of_jwk(&method["publicKeyJwk"]) != Some(sender)
    {
        checks.fail(
            "issuer_key",
            Status::Invalid,
            "The proof's verification method is not the key that sent the anchor.",
            "証明の検証メソッドがアンカーを送信した鍵ではありません。",
        );
        return false;
    }
    checks.pass(
        "issuer_key",
        format!("Anchored by the issuer's key {}, valid at that time.", sender.to_hex()),
        format!("発行者の鍵 {} が有効な時点でアンカーされました。", sender.to_hex()),
    );
    true
}

fn check_dates(certificate: &Value, findings: &mut Findings, checks: &mut Checks) {
    let from = certificate["validFrom"]
        .as_str()
        .or(certificate["issuanceDate"].as_str());
    let until = certificate["validUntil"]
        .as_str()
        .or(certificate["expirationDate"].as_str());
    findings.issued_on = from.map(str::to_owned);
    findings.expires = until.map(str::to_owned);
    let now = Utc::now();
    match from.map(time) {
        Some(Some(t)) if t > now + chrono::Duration::seconds(SKEW_SECS) => checks.fail(
            "valid_from",
            Status::Invalid,
            "The certificate is not valid yet.",
            "この証明書はまだ有効になっていません。",
        ),
        Some(None) => checks.fail(
            "valid_from",
            Status::Invalid,
            "The start date is malformed.",
            "開始日時が不正です。",
        ),
        _ => checks.pass("valid_from", "Valid from its start date.", "有効期間が始まっています。"),
    }
    match until.map(time) {
        None => checks.skip(
            "valid_until",
            "The certificate does not expire.",
            "有効期限はありません。",
        ),
        Some(Some(t)) if t <= now => checks.fail(
            "valid_until",
            Status::Expired,
            "The certificate has expired.",
            "この証明書は期限切れです。",
        ),
        Some(Some(_)) => checks.pass("valid_until", "Not expired.", "期限内です。"),
        Some(None) => checks.fail(
            "valid_until",
            Status::Invalid,
            "The end date is malformed.",
            "終了日時が不正です。",
        ),
    }
}

/// What binds the certificate to its issuer besides the anchor: the copy
/// the issuer hosts at the certificate's `id`.
///
/// On a real chain the anchoring transaction's sender is one of the issuer's
/// keys, which binds the batch to the issuer; a hosted copy that differs is
/// still a forgery, and one that cannot be fetched is only a warning. On
/// mocknet nothing else binds it — anyone can build a receipt whose root is
/// their own hash — so the `id` must be a URL of the issuer's own origin
/// serving exactly this certificate, or the answer is at most `unknown`
/// ("unanchored, test chain"), never `valid`.
async fn check_hosted_copy(
    fetcher: &Fetcher,
    certificate: &Value,
    issuer_id: &str,
    fetched_from: Option<&url::Url>,
    required: bool,
    checks: &mut Checks,
) -> bool {
    let unbound = |checks: &mut Checks, en: String, ja: String| {
        if required {
            checks.fail("issuer_binding", Status::Unknown, en, ja);
        } else {
            checks.warn("issuer_binding", en, ja);
        }
        !required
    };
    let issuer_origin = url::Url::parse(issuer_id).ok().map(|u| u.origin());
    let hosted_at = certificate["id"]
        .as_str()
        .and_then(|id| url::Url::parse(id).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let Some(hosted_at) = hosted_at.filter(|u| Some(u.origin()) == issuer_origin) else {
        return unbound(
            checks,
            "Unanchored (test chain): the certificate's id is not a URL of its issuer's site, so nothing binds it to the issuer.".into(),
            "未アンカー(テスト用チェーン): 証明書の id が発行者のサイトの URL ではなく、発行者との結び付きを確認できません。".into(),
        );
    };
    if fetched_from == Some(&hosted_at) {
        checks.pass(
            "issuer_binding",
            format!("The issuer's own site serves this certificate at {hosted_at}."),
            format!("発行者のサイトが {hosted_at} でこの証明書を提供しています。"),
        );
        return true;
    }
    let hosted = match fetch_node(
        fetcher,
        &mut Checks::default(),
        "fetch_hosted_copy",
        ("hosted certificate", "ホストされた証明書"),
        &hosted_at,
    )
    .await
    {
        Fetch::Json(hosted) => hosted,
        _ => {
            return unbound(
                checks,
                format!("The issuer's copy at {hosted_at} could not be read to vouch for this certificate."),
                format!("{hosted_at} の発行者の写しを読み取れず、証明書を確認できません。"),
            );
        }
    };
    if &hosted != certificate {
        checks.fail(
            "issuer_binding",
            Status::Invalid,
            format!("The issuer's copy at {hosted_at} differs from this certificate: it was altered or forged."),
            format!("{hosted_at} の発行者の写しとこの証明書が異なります(改ざんまたは偽造)。"),
        );
        return false;
    }
    checks.pass(
        "issuer_binding",
        format!("The issuer's own site serves this same certificate at {hosted_at}."),
        format!("発行者のサイトが {hosted_at} で同じ証明書を提供しています。"),
    );
    true
}

/// Akashi names a recipient `urn:akashi:recipient:sha256:<hex>:<salt>`;
/// other issuers may give a plain `email`.
fn recipient_matches(subject: &Value, email: &EmailAddress) -> bool {
    if let Some(rest) = subject["id"]
        .as_str()
        .and_then(|id| id.strip_prefix("urn:akashi:recipient:sha256:"))
        && let Some((hash, salt)) = rest.split_once(':')
    {
        return akashi_crypto::identity::identity_matches(email.as_str(), salt, &format!("sha256${hash}"));
    }
    subject["email"]
        .as_str()
        .is_some_and(|e| e.eq_ignore_ascii_case(email.as_str()))
}

/// The issuer's revocation list, asked about this certificate.
async fn check_revocation(fetcher: &Fetcher, certificate: &Value, profile: &Value, checks: &mut Checks) {
    if !certificate["credentialStatus"].is_null() {
        checks.fail(
            "revocation",
            Status::Unknown,
            "The certificate names a credentialStatus, which Akashi does not read for Blockcerts yet.",
            "credentialStatus には対応していません。",
        );
        return;
    }
    let Some(list) = profile["revocationList"].as_str().and_then(|u| url::Url::parse(u).ok()) else {
        checks.warn(
            "revocation",
            "The issuer publishes no revocation list: a revocation could not be seen.",
            "発行者は失効リストを公開していません。",
        );
        return;
    };
    let id = certificate["id"].as_str().unwrap_or_default();
    let mut asked = list.clone();
    asked.query_pairs_mut().append_pair("assertionId", id);
    let Fetch::Json(document) = fetch_node(
        fetcher,
        checks,
        "fetch_revocation_list",
        ("revocation list", "失効リスト"),
        &asked,
    )
    .await
    else {
        checks.fail(
            "revocation",
            Status::Unknown,
            "The revocation list could not be read.",
            "失効リストを読み取れませんでした。",
        );
        return;
    };
    // Every entry counts, a list of one included.
    let entry = document["revokedAssertions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e.get("id").unwrap_or(e).as_str() == Some(id));
    match entry {
        Some(entry) => {
            let reason = entry["revocationReason"].as_str().unwrap_or("no reason given");
            checks.fail(
                "revocation",
                Status::Revoked,
                format!("The issuer revoked this certificate: {reason}."),
                format!("発行者はこの証明書を失効させました: {reason}"),
            );
        }
        None => checks.pass(
            "revocation",
            "Not on the issuer's revocation list.",
            "発行者の失効リストにありません。",
        ),
    }
}
