//! Open Badges 3.0 with a VC-JWT proof (OB 3.0 §8.2): header fields, the
//! signature under the JWK its `kid` names, that key bound to the issuer
//! (its Profile lists it), the claims equal to the credential's fields,
//! validity dates, the recipient, and the W3C Bitstring Status List bit.

use std::io::Read;

use akashi_model::EmailAddress;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

use crate::checks::SKEW_SECS;
use crate::checks::ob2_hosted::{Fetch, Findings, fetch_node, reference, report_recipient};
use crate::checks::ob2_signed::{jws_header, jws_payload, signature_verifies};
use crate::domain::fetch::Fetcher;
use crate::domain::report::{BadgeSummary, Checks, IssuerSummary, Status};

const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
const OB3_CONTEXT_PREFIX: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context";

/// Whether a JWT payload is an Open Badges 3.0 credential.
pub fn is_ob3(payload: &Value) -> bool {
    let credential = payload.get("vc").unwrap_or(payload);
    credential["type"].as_array().is_some_and(|t| {
        t.iter()
            .any(|x| x == "OpenBadgeCredential" || x == "AchievementCredential")
    })
}

fn epoch(raw: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.timestamp())
}

/// Fetches the JWK a `kid` names and verifies `token` under it.
async fn verify_by_kid(fetcher: &Fetcher, token: &str, kid: &str) -> Result<(), String> {
    let url = url::Url::parse(kid).map_err(|_| "kid is not a URL".to_string())?;
    let fetched = fetcher.get(&url, "application/json").await.map_err(|e| e.to_string())?;
    if fetched.status != 200 {
        return Err(format!("the key answered HTTP {}", fetched.status));
    }
    let jwk: Value = serde_json::from_slice(&fetched.body).map_err(|_| "the key is not JSON".to_string())?;
    let (Some(n), Some(e)) = (jwk["n"].as_str(), jwk["e"].as_str()) else {
        return Err("the key is not an RSA JWK".into());
    };
    let key = DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?;
    if signature_verifies(token, &key) {
        Ok(())
    } else {
        Err("the signature does not verify".into())
    }
}

/// Whether `token` was signed by a key the issuer's Profile lists and owns.
async fn signed_by_issuer(fetcher: &Fetcher, token: &str, issuer_id: &str, checks: &mut Checks) -> Option<Value> {
    let url = url::Url::parse(issuer_id).ok()?;
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
    // An OB 3.0 Profile that is a controller document lists its keys as
    // verification methods: the kid must be one the issuer controls and
    // authorizes for assertions, and its key there must verify the token.
    let kid = jws_header(token).and_then(|h| h["kid"].as_str().map(str::to_owned));
    if let Some(method) = kid.and_then(|kid| assertion_method(&profile, &kid, issuer_id))
        && let (Some(n), Some(e)) = (
            method["publicKeyJwk"]["n"].as_str(),
            method["publicKeyJwk"]["e"].as_str(),
        )
        && DecodingKey::from_rsa_components(n, e).is_ok_and(|k| signature_verifies(token, &k))
    {
        return Some(profile);
    }
    // At most MAX_PROFILE_KEYS are tried: one verification must not fetch
    // whatever number of keys a profile lists (the verifier as an amplifier).
    let keys: Vec<String> = match &profile["publicKey"] {
        Value::Array(items) => items
            .iter()
            .filter_map(|k| reference(k).map(str::to_owned))
            .take(MAX_PROFILE_KEYS)
            .collect(),
        single => reference(single).map(|k| vec![k.to_owned()]).unwrap_or_default(),
    };
    for key_url in keys {
        let Ok(key_url) = url::Url::parse(&key_url) else {
            continue;
        };
        let Ok(fetched) = fetcher.get(&key_url, "application/ld+json, application/json").await else {
            continue;
        };
        let Ok(key) = serde_json::from_slice::<Value>(&fetched.body) else {
            continue;
        };
        let owned = key["owner"].as_str() == Some(issuer_id);
        let verifies = key["publicKeyPem"]
            .as_str()
            .and_then(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()).ok())
            .is_some_and(|k| signature_verifies(token, &k));
        if owned && verifies {
            return Some(profile);
        }
    }
    checks.fail(
        "key_ownership",
        Status::Invalid,
        "The signing key is not one the issuer's profile lists as its own.",
        "署名鍵が発行者プロファイルに記載された発行者の鍵ではありません。",
    );
    None
}

/// Keys of an issuer profile's `publicKey` list that are fetched and tried.
pub const MAX_PROFILE_KEYS: usize = 8;

/// The verification method `id` of a controller document, if `controller`
/// controls it and the document lists it under `assertionMethod`.
pub fn assertion_method<'a>(document: &'a Value, id: &str, controller: &str) -> Option<&'a Value> {
    // Listed by reference (then described under verificationMethod) or embedded.
    let listed = document["assertionMethod"]
        .as_array()?
        .iter()
        .find(|m| m.as_str().or_else(|| m["id"].as_str()) == Some(id))?;
    let method = if listed.is_object() {
        listed
    } else {
        document["verificationMethod"]
            .as_array()?
            .iter()
            .find(|m| m["id"].as_str() == Some(id))?
    };
    (document["id"] == controller && method["controller"] == controller).then_some(method)
}

/// Checks every status entry of the credential Akashi understands: a W3C
/// Bitstring Status List bit and a 1EdTech revocation list.
async fn check_status(fetcher: &Fetcher, credential: &Value, issuer_id: &str, checks: &mut Checks) {
    let entries: Vec<&Value> = match &credential["credentialStatus"] {
        Value::Null => {
            checks.skip(
                "status",
                "The credential has no status entry.",
                "ステータス情報はありません。",
            );
            return;
        }
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut understood = false;
    for entry in entries {
        if entry["type"] == "BitstringStatusListEntry" && entry["statusPurpose"] == "revocation" {
            check_bitstring(fetcher, entry, issuer_id, checks).await;
            understood = true;
        } else if entry["type"] == "1EdTechRevocationList" {
            check_revocation_list(fetcher, entry, credential, issuer_id, checks).await;
            understood = true;
        }
    }
    if !understood {
        checks.warn(
            "status",
            "Unsupported credentialStatus type.",
            "未対応の credentialStatus です。",
        );
    }
}

/// A 1EdTech revocation list: fetched from the entry's id, issued by the
/// credential's issuer; the credential is revoked if its id is listed.
async fn check_revocation_list(
    fetcher: &Fetcher,
    entry: &Value,
    credential: &Value,
    issuer_id: &str,
    checks: &mut Checks,
) {
    let unknown = |checks: &mut Checks, why: String| {
        checks.fail(
            "revocation_list",
            Status::Unknown,
            format!("The 1EdTech revocation list could not be checked: {why}."),
            format!("1EdTech 取り消しリストを確認できませんでした: {why}"),
        )
    };
    let Some(url) = entry["id"].as_str().and_then(|u| url::Url::parse(u).ok()) else {
        return unknown(checks, "its id is not a URL".into());
    };
    let list: Value = match fetcher.get(&url, "application/json").await {
        Ok(f) if f.status == 200 => match serde_json::from_slice(&f.body) {
            Ok(list) => list,
            Err(_) => return unknown(checks, "it is not JSON".into()),
        },
        Ok(f) => return unknown(checks, format!("HTTP {}", f.status)),
        Err(e) => return unknown(checks, e.to_string()),
    };
    let list_issuer = list["issuer"].get("id").unwrap_or(&list["issuer"]);
    if list_issuer != issuer_id {
        return checks.fail(
            "revocation_list",
            Status::Invalid,
            "The 1EdTech revocation list was issued by someone else than the credential.",
            "1EdTech 取り消しリストの発行者が資格情報の発行者と異なります。",
        );
    }
    let id = credential["id"].as_str().unwrap_or_default();
    // One entry or many: a list with a single revocation is still a list.
    let revoked = match &list["revokedCredentials"] {
        Value::Array(items) => items.iter().find(|e| e["id"] == id || *e == id).cloned(),
        single if single["id"] == id => Some(single.clone()),
        _ => None,
    };
    match revoked {
        Some(e) => {
            let reason = e["revocationReason"].as_str().unwrap_or("no reason given").to_string();
            checks.fail(
                "revocation_list",
                Status::Revoked,
                format!("The issuer's 1EdTech revocation list names this credential: {reason}."),
                format!("発行者の 1EdTech 取り消しリストにこの資格情報があります: {reason}"),
            )
        }
        None => checks.pass(
            "revocation_list",
            "The 1EdTech revocation list does not name it.",
            "1EdTech 取り消しリストに含まれていません。",
        ),
    }
}

/// Reads the credential's bit from its issuer-signed Bitstring Status List.
async fn check_bitstring(fetcher: &Fetcher, status: &Value, issuer_id: &str, checks: &mut Checks) {
    let index: Option<usize> = status["statusListIndex"].as_str().and_then(|i| i.parse().ok());
    let list_url = status["statusListCredential"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok());
    let (Some(index), Some(list_url)) = (index, list_url) else {
        checks.fail(
            "status",
            Status::Invalid,
            "The status entry is malformed.",
            "ステータス情報の形式が不正です。",
        );
        return;
    };
    let unknown = |checks: &mut Checks, why: String| {
        checks.fail(
            "status",
            Status::Unknown,
            format!("The status list could not be checked: {why}."),
            format!("ステータスリストを確認できませんでした: {why}"),
        )
    };
    let token = match fetcher.get(&list_url, "application/jwt").await {
        Ok(f) if f.status == 200 => String::from_utf8_lossy(&f.body).trim().to_string(),
        Ok(f) => return unknown(checks, format!("HTTP {}", f.status)),
        Err(e) => return unknown(checks, e.to_string()),
    };
    let list = match verified_list(fetcher, token).await {
        Ok(list) => list,
        Err(why) => return unknown(checks, why),
    };
    if list.issuer != issuer_id {
        return checks.fail(
            "status",
            Status::Invalid,
            "The status list was issued by someone else than the credential.",
            "ステータスリストの発行者が資格情報の発行者と異なります。",
        );
    }
    match &list.bits {
        Some(bits) if index / 8 < bits.len() => {
            if bits[index / 8] & (0x80 >> (index % 8)) != 0 {
                checks.fail(
                    "status",
                    Status::Revoked,
                    "The issuer's status list marks this credential revoked.",
                    "発行者のステータスリストでこの資格情報は取り消されています。",
                )
            } else {
                checks.pass(
                    "status",
                    "The status list does not mark it revoked.",
                    "ステータスリストで取り消されていません。",
                )
            }
        }
        _ => unknown(checks, "the list cannot be decoded".into()),
    }
}

/// A status list whose signature held, decoded.
struct VerifiedList {
    issuer: String,
    /// The bitstring, or `None` if it cannot be decoded.
    bits: Option<Vec<u8>>,
}

/// How long a verified list is remembered by its exact bytes: as long as a
/// fetched document is by default. A changed list is a different token.
const VERIFIED_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The status list in `token`, its signature verified under the key its
/// `kid` names. Every credential on one list shares the list, so the result
/// is remembered by the token's exact bytes: the signature check, base64
/// and decompression are paid once per list, not once per credential.
async fn verified_list(fetcher: &Fetcher, token: String) -> Result<Arc<VerifiedList>, String> {
    static VERIFIED: OnceLock<moka::future::Cache<String, Arc<VerifiedList>>> = OnceLock::new();
    let verified = VERIFIED.get_or_init(|| {
        moka::future::Cache::builder()
            .time_to_live(VERIFIED_LIST_TTL)
            .max_capacity(1024)
            .build()
    });
    if let Some(list) = verified.get(&token).await {
        return Ok(list);
    }
    let Some(kid) = jws_header(&token).and_then(|h| h["kid"].as_str().map(str::to_owned)) else {
        return Err("the list has no kid".into());
    };
    verify_by_kid(fetcher, &token, &kid).await?;
    let payload = jws_payload(&token).unwrap_or(Value::Null);
    let issuer = payload["issuer"]
        .get("id")
        .unwrap_or(&payload["issuer"])
        .as_str()
        .unwrap_or_default()
        .to_string();
    let encoded = payload["credentialSubject"]["encodedList"].as_str().unwrap_or_default();
    let bits = encoded
        .strip_prefix('u')
        .and_then(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(b).ok())
        .and_then(|gz| {
            let mut out = Vec::new();
            // A bounded read: a hostile list must not inflate without end.
            flate2::read::GzDecoder::new(gz.as_slice())
                .take(16 * 1024 * 1024)
                .read_to_end(&mut out)
                .ok()
                .map(|_| out)
        });
    let list = Arc::new(VerifiedList { issuer, bits });
    verified.insert(token, list.clone()).await;
    Ok(list)
}

/// Runs the OB 3.0 VC-JWT procedure.
pub async fn verify(
    fetcher: &Fetcher,
    token: &str,
    expected_recipient: Option<&EmailAddress>,
    trusted: &[String],
    checks: &mut Checks,
) -> Findings {
    let mut findings = Findings::default();
    let header = jws_header(token).unwrap_or(Value::Null);
    let fields: Vec<&str> = header
        .as_object()
        .map(|h| h.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let kid = header["kid"].as_str().map(str::to_owned);
    if header["alg"] != "RS256" || fields.iter().any(|f| !["alg", "kid", "typ"].contains(f)) || kid.is_none() {
        checks.fail(
            "jwt_header",
            Status::Invalid,
            format!("The header must be RS256 with only alg, kid and typ (it has {fields:?})."),
            "ヘッダーは RS256 で alg・kid・typ のみでなければなりません。",
        );
        return findings;
    }
    checks.pass(
        "jwt_header",
        "RS256 header with a kid.",
        "RS256 のヘッダーと kid があります。",
    );
    match verify_by_kid(fetcher, token, kid.as_deref().unwrap_or_default()).await {
        Ok(()) => checks.pass(
            "signature",
            "The signature verifies under the kid's key.",
            "kid の鍵で署名を検証できました。",
        ),
        Err(why) => {
            checks.fail(
                "signature",
                Status::Invalid,
                format!("Signature: {why}."),
                format!("署名: {why}"),
            );
            return findings;
        }
    }
    let claims = jws_payload(token).unwrap_or(Value::Null);
    let credential = claims.get("vc").unwrap_or(&claims).clone();
    findings.credential_id = credential["id"].as_str().map(str::to_owned);
    let Some(issuer_id) = check_shape(&credential, checks) else {
        return findings;
    };
    let nbf_ok = credential["validFrom"].as_str().and_then(epoch) == claims["nbf"].as_i64();
    let exp_ok = match credential["validUntil"].as_str() {
        Some(until) => epoch(until) == claims["exp"].as_i64(),
        None => true,
    };
    if claims["iss"] == issuer_id.as_str() && claims["jti"] == credential["id"] && nbf_ok && exp_ok {
        checks.pass(
            "jwt_claims",
            "iss, jti, nbf (and exp) equal the credential's fields.",
            "JWT のクレームが資格情報と一致します。",
        );
    } else {
        checks.fail(
            "jwt_claims",
            Status::Invalid,
            "The JWT claims (iss, jti, nbf, exp) differ from the credential's fields.",
            "JWT のクレームが資格情報の内容と一致しません。",
        );
    }
    let Some(_profile) = signed_by_issuer(fetcher, token, &issuer_id, checks).await else {
        return findings;
    };
    checks.pass(
        "key_ownership",
        "The key is one the issuer's profile lists as its own.",
        "鍵は発行者プロファイルに記載された鍵です。",
    );
    check_credential(
        fetcher,
        &credential,
        &issuer_id,
        expected_recipient,
        trusted,
        checks,
        &mut findings,
    )
    .await;
    findings
}

/// Checks that `credential` is an OB 3.0 OpenBadgeCredential (contexts in
/// order, types, issuer, achievement); answers its issuer id.
pub fn check_shape(credential: &Value, checks: &mut Checks) -> Option<String> {
    let contexts: Vec<&str> = credential["@context"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let issuer_id = credential["issuer"]
        .get("id")
        .unwrap_or(&credential["issuer"])
        .as_str()
        .unwrap_or_default()
        .to_string();
    let shaped = contexts.first() == Some(&VC_V2)
        && contexts.get(1).is_some_and(|c| c.starts_with(OB3_CONTEXT_PREFIX))
        && is_ob3(credential)
        && !issuer_id.is_empty()
        && credential["credentialSubject"]["achievement"].is_object();
    if !shaped {
        checks.fail(
            "credential_shape",
            Status::Invalid,
            "Not an OB 3.0 OpenBadgeCredential (contexts in order, types, issuer, achievement).",
            "OB 3.0 の OpenBadgeCredential ではありません。",
        );
        return None;
    }
    checks.pass(
        "credential_shape",
        "The payload is an OB 3.0 OpenBadgeCredential.",
        "OB 3.0 の OpenBadgeCredential です。",
    );
    Some(issuer_id)
}

/// The checks every OB 3.0 credential gets once its proof holds: issuer and
/// badge summaries, validity dates, the recipient, the status list bit.
pub async fn check_credential(
    fetcher: &Fetcher,
    credential: &Value,
    issuer_id: &str,
    expected_recipient: Option<&EmailAddress>,
    trusted: &[String],
    checks: &mut Checks,
    findings: &mut Findings,
) {
    findings.issuer = Some(IssuerSummary {
        id: issuer_id.to_string(),
        name: credential["issuer"]["name"].as_str().map(str::to_owned),
        trusted: trusted.iter().any(|t| t == issuer_id),
    });
    let achievement = &credential["credentialSubject"]["achievement"];
    findings.badge = Some(BadgeSummary {
        id: achievement["id"].as_str().unwrap_or_default().to_string(),
        name: achievement["name"].as_str().map(str::to_owned),
        description: achievement["description"].as_str().map(str::to_owned),
        image: achievement["image"]
            .get("id")
            .unwrap_or(&achievement["image"])
            .as_str()
            .map(str::to_owned),
    });
    // Dates.
    let now = Utc::now().timestamp();
    findings.issued_on = credential["validFrom"].as_str().map(str::to_owned);
    findings.expires = credential["validUntil"].as_str().map(str::to_owned);
    match credential["validFrom"].as_str().and_then(epoch) {
        Some(from) if from > now + SKEW_SECS => checks.fail(
            "valid_from",
            Status::Invalid,
            "validFrom is in the future.",
            "validFrom が未来の日時です。",
        ),
        Some(_) => checks.pass("valid_from", "validFrom has passed.", "validFrom を過ぎています。"),
        None => checks.fail(
            "valid_from",
            Status::Invalid,
            "validFrom is missing or malformed.",
            "validFrom がないか不正です。",
        ),
    }
    match credential["validUntil"].as_str().map(epoch) {
        None => checks.skip(
            "valid_until",
            "The credential does not expire.",
            "有効期限はありません。",
        ),
        Some(Some(until)) if until <= now => checks.fail(
            "valid_until",
            Status::Expired,
            "The credential has expired.",
            "この資格情報は期限切れです。",
        ),
        Some(Some(_)) => checks.pass("valid_until", "Not expired.", "期限内です。"),
        Some(None) => checks.fail(
            "valid_until",
            Status::Invalid,
            "validUntil is malformed.",
            "validUntil が不正です。",
        ),
    }
    // Recipient: any hashed (or plain) IdentityObject among the identifiers.
    findings.recipient = Some(report_recipient(expected_recipient, checks, |email| {
        let identifiers = credential["credentialSubject"]["identifier"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        identifiers.iter().any(|i| {
            let hash = i["identityHash"].as_str().unwrap_or_default();
            if i["hashed"] == true {
                akashi_crypto::identity::identity_matches(email.as_str(), i["salt"].as_str().unwrap_or_default(), hash)
            } else {
                hash.eq_ignore_ascii_case(email.as_str())
            }
        })
    }));
    check_status(fetcher, credential, issuer_id, checks).await;
}
