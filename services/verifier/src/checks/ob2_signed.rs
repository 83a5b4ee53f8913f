//! Open Badges 2.0 signed verification (OB 2.0 §SignedBadge): the JWS's
//! signature under the key its `creator` names, that key owned by the issuer
//! and listed in the issuer's Profile, then the same dates, recipient and
//! revocation-list checks as any badge.

use akashi_model::EmailAddress;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::checks::ob2_hosted::{
    Fetch, Findings, check_dates, check_recipient, check_revocation_list, fetch_badge_and_issuer, fetch_node,
    has_context, has_type, reference,
};
use crate::domain::fetch::Fetcher;
use crate::domain::report::{Checks, Status};

/// Decodes the payload of a compact JWS without verifying it (yet).
pub fn jws_payload(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Decodes the protected header of a compact JWS as JSON.
pub fn jws_header(token: &str) -> Option<Value> {
    let part = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `token` verifies (RS256) under `key`; dates are checked separately.
pub(crate) fn signature_verifies(token: &str, key: &DecodingKey) -> bool {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, key, &validation).is_ok()
}

/// Whether a payload is an OB 2.0 Assertion to be verified as signed.
pub fn is_signed_assertion(payload: &Value) -> bool {
    has_type(payload, &["Assertion"])
        && matches!(payload["verification"]["type"].as_str(), Some("SignedBadge" | "signed"))
}

/// Runs the OB 2.0 signed procedure on a compact JWS.
pub async fn verify(
    fetcher: &Fetcher,
    jws: &str,
    expected_recipient: Option<&EmailAddress>,
    trusted: &[String],
    checks: &mut Checks,
) -> Findings {
    let mut findings = Findings::default();
    let header = jws_header(jws);
    if header.as_ref().and_then(|h| h["alg"].as_str()) != Some("RS256") {
        checks.fail(
            "jws_algorithm",
            Status::Invalid,
            "The JWS is not signed with RS256.",
            "JWS が RS256 で署名されていません。",
        );
        return findings;
    }
    let Some(assertion) = jws_payload(jws) else {
        checks.fail(
            "jws_format",
            Status::Invalid,
            "The JWS payload is not JSON.",
            "JWS のペイロードが JSON ではありません。",
        );
        return findings;
    };
    findings.credential_id = assertion["id"].as_str().map(str::to_owned);
    let creator = assertion["verification"]["creator"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok());
    let (true, Some(creator)) = (has_context(&assertion) && is_signed_assertion(&assertion), creator) else {
        checks.fail(
            "assertion_shape",
            Status::Invalid,
            "Not an OB 2.0 signed Assertion (context, type Assertion, verification SignedBadge with a creator URL).",
            "OB 2.0 の署名付きアサーションではありません。",
        );
        return findings;
    };
    checks.pass(
        "assertion_shape",
        "The payload is an OB 2.0 signed Assertion.",
        "OB 2.0 の署名付きアサーションです。",
    );

    let Fetch::Json(key) = fetch_node(
        fetcher,
        checks,
        "fetch_signing_key",
        ("signing key", "署名鍵"),
        &creator,
    )
    .await
    else {
        return findings;
    };
    let decoding = key["publicKeyPem"]
        .as_str()
        .and_then(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()).ok());
    match decoding {
        Some(k) if signature_verifies(jws, &k) => checks.pass(
            "signature",
            "The signature verifies under the creator key.",
            "署名は作成者の鍵で検証できました。",
        ),
        _ => {
            checks.fail(
                "signature",
                Status::Invalid,
                "The signature does not verify under the key the assertion names.",
                "アサーションが示す鍵で署名を検証できません。",
            );
            return findings;
        }
    }
    check_dates(&assertion, checks, &mut findings);
    findings.recipient = Some(check_recipient(&assertion, expected_recipient, checks));
    let Some((issuer, issuer_url)) = fetch_badge_and_issuer(fetcher, &assertion, trusted, checks, &mut findings).await
    else {
        return findings;
    };
    let listed = match &issuer["publicKey"] {
        Value::Array(keys) => keys.iter().any(|k| reference(k) == Some(creator.as_str())),
        single => reference(single) == Some(creator.as_str()),
    };
    if key["owner"].as_str() == Some(issuer_url.as_str()) && listed {
        checks.pass(
            "key_ownership",
            "The key is owned by the issuer and listed in its profile.",
            "鍵は発行者のもので、プロファイルに記載されています。",
        );
    } else {
        checks.fail(
            "key_ownership",
            Status::Invalid,
            "The signing key is not owned by the issuer, or not listed in its profile.",
            "署名鍵が発行者のものではないか、プロファイルに記載されていません。",
        );
    }
    let id = assertion["id"].as_str().unwrap_or_default().to_string();
    check_revocation_list(fetcher, &issuer, &id, checks).await;
    findings
}
