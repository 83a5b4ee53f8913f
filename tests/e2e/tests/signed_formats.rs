//! Every format an award is issued in passes its third-party judge: the
//! 1EdTech validator for OB 2.0 signed, PyJWT plus the OB 3.0 VC-JWT rules
//! for OB 3.0 VC-JWT, Digital Bazaar's Data Integrity verifier for OB 3.0
//! eddsa-rdfc-2022. Tampering is caught; credentials signed before a key
//! rotation still verify after it; revoked ones are reported revoked.

use std::time::Duration;

use akashi_e2e::{Service, Stack, di_judge, di_judge_document, ob2_validator, vcjwt_judge};
use base64::Engine;
use reqwest::Method;
use serde_json::Value;

fn jws_payload(jws: &str) -> Value {
    let part = jws.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn jws_header(jws: &str) -> Value {
    let part = jws.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Changes one claim of a JWS's payload, keeping its signature.
fn tamper(jws: &str) -> String {
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut payload = jws_payload(jws);
    payload["issuedOn"] = Value::from("2020-01-01T00:00:00Z");
    payload["name"] = Value::from("Forged");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    parts.join(".")
}

async fn judge_ob2(jws: String, recipient: &'static str) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || ob2_validator(&jws, Some(recipient))).await?
}

/// Akashi's own verifier on a `{"jwt": …}` input.
async fn verify_token(stack: &Stack, token: &str, recipient: Option<&str>) -> anyhow::Result<Value> {
    let mut body = serde_json::json!({"jwt": token});
    if let Some(r) = recipient {
        body["recipient"] = Value::from(r);
    }
    let response = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "verify answered {}", response.status());
    Ok(response.json().await?)
}

async fn judge_di(url: &str) -> anyhow::Result<Value> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || di_judge(&url)).await?
}

async fn judge_di_document(document: Value) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || di_judge_document(&document)).await?
}

/// Akashi's own verifier on a `{"credential": …}` input.
async fn verify_credential(stack: &Stack, credential: &Value) -> anyhow::Result<Value> {
    let response = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(&serde_json::json!({"credential": credential}))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "verify answered {}", response.status());
    Ok(response.json().await?)
}

async fn judge_vcjwt(args: Vec<String>) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || vcjwt_judge(&args.iter().map(String::as_str).collect::<Vec<_>>())).await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_formats_pass_their_judges_across_tampering_rotation_and_revocation() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);

    let award = stack
        .complete_course("evt-sig-1", "aiko@example.ac.jp", "DEMO-101")
        .await?;
    let formats = award["formats"].as_object().unwrap();
    assert_eq!(
        formats.keys().filter(|f| *f != "blockcerts").collect::<Vec<_>>(),
        vec!["ob2_hosted", "ob2_signed", "ob3_di", "ob3_vcjwt"],
        "the demo badge class is issued in every format (Blockcerts once anchored: tests/blockcerts.rs)"
    );

    // OB 2.0 signed: a compact JWS at its URL, judged by the 1EdTech validator.
    let signed_url = formats["ob2_signed"].as_str().unwrap();
    let response = stack.wait_for_status(signed_url, 200, Duration::from_secs(10)).await?;
    assert_eq!(response.headers()["content-type"], "application/jose");
    let jws_a = response.text().await?;
    let header = jws_header(&jws_a);
    assert_eq!(header["alg"], "RS256");
    let payload = jws_payload(&jws_a);
    assert!(payload["id"].as_str().unwrap().starts_with("urn:uuid:"));
    assert_eq!(payload["verification"]["type"], "SignedBadge");
    let key_url = payload["verification"]["creator"].as_str().unwrap().to_string();
    let key: Value = stack.http.get(&key_url).send().await?.json().await?;
    assert_eq!(key["type"], "CryptographicKey");
    assert!(
        key["publicKeyPem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let badge: Value = stack
        .http
        .get(payload["badge"].as_str().unwrap())
        .send()
        .await?
        .json()
        .await?;
    let profile: Value = stack
        .http
        .get(badge["issuer"].as_str().unwrap())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(key["owner"], profile["id"], "the key is owned by the issuer");
    assert_eq!(
        (
            badge["alignment"][0]["targetName"].as_str(),
            badge["alignment"][0]["targetCode"].as_str()
        ),
        (Some("Data literacy"), Some("DL-1")),
        "the demo badge's alignment, judged below with the rest by the 1EdTech validator: {badge:#}"
    );
    assert!(
        profile["publicKey"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == key_url.as_str()),
        "and listed in its profile"
    );
    let verdict = judge_ob2(jws_a.clone(), "aiko@example.ac.jp").await?;
    assert_eq!(
        verdict["valid"], true,
        "1EdTech validator on the signed badge: {verdict:#}"
    );
    let forged = judge_ob2(tamper(&jws_a), "aiko@example.ac.jp").await?;
    assert_eq!(forged["valid"], false, "a tampered JWS must fail: {forged:#}");
    // Akashi's verifier agrees, by URL and by token.
    let ours = stack.verify(signed_url, Some("aiko@example.ac.jp")).await?;
    assert_eq!(
        (ours["status"].as_str(), ours["format"].as_str()),
        (Some("valid"), Some("ob2-signed")),
        "{ours:#}"
    );
    assert_eq!(ours["recipient"]["matched"], true);
    let ours = verify_token(&stack, &tamper(&jws_a), None).await?;
    assert_eq!(ours["status"], "invalid", "tampered: {ours:#}");

    // OB 3.0: JSON and VC-JWT at one URL, judged by PyJWT with the kid's JWK.
    let ob3_url = formats["ob3_vcjwt"].as_str().unwrap().to_string();
    let credential: Value = stack.http.get(&ob3_url).send().await?.json().await?;
    assert_eq!(credential["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(
        credential["@context"][1],
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
    );
    assert_eq!(credential["credentialSubject"]["identifier"][0]["hashed"], true);
    let alignment = &credential["credentialSubject"]["achievement"]["alignment"][0];
    assert_eq!(alignment["type"], serde_json::json!(["Alignment"]));
    assert_eq!(alignment["targetFramework"], "Akashi demo competency framework");
    assert_eq!(
        credential["credentialSubject"]["achievement"]["name"],
        "Introduction to Data Science"
    );
    let jwt_a = stack
        .http
        .get(&ob3_url)
        .header("Accept", "application/jwt")
        .send()
        .await?;
    assert_eq!(jwt_a.headers()["content-type"], "application/jwt");
    let jwt_a = jwt_a.text().await?;
    let verdict = judge_vcjwt(vec![ob3_url.clone()]).await?;
    assert_eq!(verdict["valid"], true, "VC-JWT judge: {verdict:#}");
    let old_kid = verdict["kid"].as_str().unwrap().to_string();
    let ours = verify_token(&stack, &jwt_a, Some("aiko@example.ac.jp")).await?;
    assert_eq!(
        (ours["status"].as_str(), ours["format"].as_str()),
        (Some("valid"), Some("ob3-vcjwt")),
        "{ours:#}"
    );
    assert_eq!(ours["recipient"]["matched"], true);

    // OB 3.0 Data Integrity: the JSON form carries an eddsa-rdfc-2022 proof
    // whose verification method is a Multikey in the issuer's Profile.
    assert_eq!(credential["proof"]["type"], "DataIntegrityProof");
    assert_eq!(credential["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    let method = credential["proof"]["verificationMethod"].as_str().unwrap().to_string();
    let issuer_id = credential["issuer"]["id"].as_str().unwrap().to_string();
    assert!(method.starts_with(&format!("{issuer_id}#key-")), "{method}");
    let controller: Value = stack.http.get(&issuer_id).send().await?.json().await?;
    assert!(
        controller["assertionMethod"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == method.as_str()),
        "{controller:#}"
    );
    let verdict = judge_di(&ob3_url).await?;
    assert_eq!(
        (verdict["verified"].as_bool(), verdict["revoked"].as_bool()),
        (Some(true), Some(false)),
        "Data Integrity judge: {verdict:#}"
    );
    let ours = stack.verify(&ob3_url, Some("aiko@example.ac.jp")).await?;
    assert_eq!(
        (ours["status"].as_str(), ours["format"].as_str()),
        (Some("valid"), Some("ob3-di")),
        "{ours:#}"
    );
    assert_eq!(ours["recipient"]["matched"], true);
    let mut tampered = credential.clone();
    tampered["credentialSubject"]["achievement"]["name"] = Value::from("Forged");
    let verdict = judge_di_document(tampered.clone()).await?;
    assert_eq!(
        verdict["verified"], false,
        "a tampered credential must fail: {verdict:#}"
    );
    let ours = verify_credential(&stack, &tampered).await?;
    assert_eq!(ours["status"], "invalid", "{ours:#}");
    // An unsigned addition under a term no context defines: a verifier that
    // drops it would pass the credential; both refuse it.
    let mut extended = credential.clone();
    extended["credentialSubject"]["achievement"]["grade"] = Value::from("A+");
    let verdict = judge_di_document(extended.clone()).await?;
    assert_eq!(verdict["verified"], false, "{verdict:#}");
    let ours = verify_credential(&stack, &extended).await?;
    assert_eq!(ours["status"], "invalid", "{ours:#}");
    assert!(ours["checks"].to_string().contains("json_ld"), "{ours:#}");
    let ours = verify_token(&stack, &jwt_a, Some("someone@example.ac.jp")).await?;
    assert_eq!(ours["status"], "invalid", "wrong recipient: {ours:#}");
    assert!(old_kid.starts_with(&format!("{issuer}/issuers/{}/keys/", seed.issuer_id)));
    let mut forged = jwt_a.split('.').map(str::to_owned).collect::<Vec<_>>();
    let mut claims = jws_payload(&jwt_a);
    claims["name"] = Value::from("Forged");
    forged[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
    let verdict = judge_vcjwt(vec!["--token".into(), forged.join(".")]).await?;
    assert_eq!(verdict["valid"], false, "a tampered VC-JWT must fail: {verdict:#}");

    // Key rotation: the old key is retired, still published, and still verifies.
    let jwks: Value = stack
        .http
        .get(format!("{issuer}/issuers/{}/jwks", seed.issuer_id))
        .send()
        .await?
        .json()
        .await?;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.iter().map(|k| k["kty"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["RSA", "OKP", "EC"],
        "one RSA, one Ed25519 and one secp256k1 (Blockcerts anchoring) key"
    );
    assert!(keys.iter().all(|k| k["valid_until"].is_null()));
    let refused = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/keys/rotate", seed.issuer_id),
        )
        .json(&serde_json::json!({"rsa_bits": 4096}))
        .send()
        .await?;
    assert_eq!(refused.status(), 422, "only 2048 and 3072");
    // Rotate to RSA-3072: what is signed after it must pass every judge too.
    let rotated = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/keys/rotate", seed.issuer_id),
        )
        .json(&serde_json::json!({"rsa_bits": 3072}))
        .send()
        .await?;
    assert_eq!(rotated.status(), 200);
    let jwks: Value = rotated.json().await?;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        5,
        "two new signing keys; the anchoring account is not rotated"
    );
    let old_rsa = keys.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert!(old_rsa["valid_until"].is_string(), "the old key has an end");
    assert_eq!(
        keys.iter().filter(|k| k["valid_until"].is_null()).count(),
        3,
        "one new key per signing algorithm, and the anchoring key as it was"
    );
    let new_rsa = keys
        .iter()
        .find(|k| k["kty"] == "RSA" && k["valid_until"].is_null())
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(new_rsa["n"].as_str().unwrap())?
            .len(),
        384,
        "a 3072-bit modulus"
    );

    let award_b = stack
        .complete_course("evt-sig-2", "ren@example.ac.jp", "DEMO-101")
        .await?;
    let ob3_b = award_b["formats"]["ob3_vcjwt"].as_str().unwrap().to_string();
    stack.wait_for_status(&ob3_b, 200, Duration::from_secs(10)).await?;
    let verdict_b = judge_vcjwt(vec![ob3_b]).await?;
    assert_eq!(verdict_b["valid"], true, "{verdict_b:#}");
    assert_ne!(verdict_b["kid"], old_kid.as_str(), "signed with the new key");
    let verdict = judge_vcjwt(vec![ob3_url.clone()]).await?;
    assert_eq!(
        verdict["valid"], true,
        "signed before the rotation, still valid after it: {verdict:#}"
    );
    // Data Integrity across the rotation: the new credential names the new
    // Multikey; the old one still verifies under the retired key, which the
    // issuer's Profile keeps (once the host has the new Profile).
    let credential_b: Value = stack
        .http
        .get(award_b["formats"]["ob3_di"].as_str().unwrap())
        .send()
        .await?
        .json()
        .await?;
    let method_b = credential_b["proof"]["verificationMethod"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(method_b, method, "signed with the new Ed25519 key");
    let mut published = false;
    for _ in 0..100 {
        let controller: Value = stack.http.get(&issuer_id).send().await?.json().await?;
        if controller["assertionMethod"].to_string().contains(&method_b) {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the host serves the new key");
    for url in [ob3_url.as_str(), award_b["formats"]["ob3_di"].as_str().unwrap()] {
        let verdict = judge_di(url).await?;
        assert_eq!(verdict["verified"], true, "{url}: {verdict:#}");
        let ours = stack.verify(url, None).await?;
        assert_eq!(ours["status"], "valid", "{url}: {ours:#}");
    }
    // The host learns the new key over the bus; once it has, both signed forms verify.
    let signed_b_url = award_b["formats"]["ob2_signed"].as_str().unwrap();
    let jws_b = stack
        .wait_for_status(signed_b_url, 200, Duration::from_secs(10))
        .await?
        .text()
        .await?;
    let new_key_url = jws_payload(&jws_b)["verification"]["creator"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_key_url, key_url);
    stack
        .wait_for_status(&new_key_url, 200, Duration::from_secs(10))
        .await?;
    let verdict = judge_ob2(jws_b, "ren@example.ac.jp").await?;
    assert_eq!(verdict["valid"], true, "{verdict:#}");
    let verdict = judge_ob2(jws_a.clone(), "aiko@example.ac.jp").await?;
    assert_eq!(
        verdict["valid"], true,
        "the pre-rotation signed badge still verifies: {verdict:#}"
    );
    assert_eq!(
        verify_token(&stack, &jws_a, None).await?["status"],
        "valid",
        "ours too, after the rotation"
    );
    assert_eq!(verify_token(&stack, &jwt_a, None).await?["status"], "valid");

    // Revocation: the signed badge's id joins the issuer's revocation list.
    stack.revoke(&award, "Academic misconduct").await?;
    let list_url = profile["revocationList"].as_str().unwrap();
    let signed_id = payload["id"].as_str().unwrap();
    let mut listed = false;
    for _ in 0..100 {
        let list: Value = stack.http.get(list_url).send().await?.json().await?;
        if list["revokedAssertions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == signed_id)
        {
            listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listed, "the revocation list names the signed id");
    let verdict = judge_ob2(jws_a.clone(), "aiko@example.ac.jp").await?;
    assert_eq!(
        verdict["valid"], false,
        "the 1EdTech validator sees the revocation: {verdict:#}"
    );
    // The OB 3.0 form says so too: its bit is set in the issuer-signed
    // Bitstring Status List, which the judge decodes independently.
    assert_eq!(credential["credentialStatus"][0]["type"], "BitstringStatusListEntry");
    // And the 1EdTech revocation list names it, with the reason.
    assert_eq!(credential["credentialStatus"][1]["type"], "1EdTechRevocationList");
    let list: Value = stack
        .http
        .get(credential["credentialStatus"][1]["id"].as_str().unwrap())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list["issuer"], credential["issuer"]["id"]);
    let entry = list["revokedCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == credential["id"])
        .expect("the 1EdTech list names the revoked credential");
    assert_eq!(entry["revocationReason"], "Academic misconduct");
    let mut revoked_seen = None;
    for _ in 0..100 {
        let verdict = judge_vcjwt(vec![ob3_url.clone()]).await?;
        if verdict["valid"] == false {
            revoked_seen = Some(verdict);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let verdict = revoked_seen.expect("the OB 3.0 credential was never reported revoked");
    assert!(
        verdict["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("revoked:")),
        "{verdict:#}"
    );
    let verdict_b = judge_vcjwt(vec![award_b["formats"]["ob3_vcjwt"].as_str().unwrap().to_string()]).await?;
    assert_eq!(
        verdict_b["valid"], true,
        "the other award in the same list stays valid: {verdict_b:#}"
    );
    // The Data Integrity judge reads the same bit from the list's own DI proof.
    let verdict = judge_di(&ob3_url).await?;
    assert_eq!(
        (verdict["verified"].as_bool(), verdict["revoked"].as_bool()),
        (Some(false), Some(true)),
        "{verdict:#}"
    );
    let verdict = judge_di(award_b["formats"]["ob3_di"].as_str().unwrap()).await?;
    assert_eq!(verdict["verified"], true, "{verdict:#}");
    // Akashi's verifier reports both revoked forms as revoked, the other award as valid.
    assert_eq!(verify_token(&stack, &jws_a, None).await?["status"], "revoked");
    let ours = stack.verify(&ob3_url, None).await?;
    assert_eq!(ours["status"], "revoked");
    let revoked_by: Vec<&str> = ours["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["failure_means"] == "revoked" && c["outcome"] == "failed")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        revoked_by,
        vec!["status", "revocation_list"],
        "both mechanisms say so: {ours:#}"
    );
    let other = award_b["formats"]["ob3_vcjwt"].as_str().unwrap();
    assert_eq!(stack.verify(other, None).await?["status"], "valid");
    Ok(())
}
