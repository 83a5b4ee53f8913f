//! Awards made by an admin: one with narrative and evidence, many from a
//! CSV with per-row results, idempotent by client key; and expiry, seen as
//! such by the third-party judges.

use std::time::Duration;

use akashi_e2e::{Service, Stack, ob2_validator, vcjwt_judge};
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_bulk_awards_are_idempotent_and_carry_their_evidence() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let award = |body: Value| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/awards"))
            .json(&body)
            .send()
    };

    let body = json!({
        "badge_class_id": seed.badge_class_id,
        "recipient": {"email": "Mei@Example.ac.jp", "name": "Mei Tanaka"},
        "narrative": "Led the capstone project.",
        "evidence": [{"url": "https://portfolio.example.ac.jp/mei", "narrative": "Capstone report"}],
        "client_key": "capstone-2026-mei"
    });
    let first = award(body.clone()).await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    assert_eq!(first["status"], "issued");
    let award_id = first["award"]["award_id"].as_str().unwrap().to_string();
    assert_eq!(first["award"]["formats"].as_object().unwrap().len(), 4, "every format");
    let again = award(body).await?;
    assert_eq!(again.status(), 200, "the same client key is the same award");
    let again: Value = again.json().await?;
    assert_eq!(again["status"], "existing");
    assert_eq!(again["award"]["award_id"], award_id.as_str());

    // Narrative and evidence reach every format.
    // Host learns of the award over the bus: wait for it there.
    let hosted: Value = stack
        .wait_for_status(
            first["award"]["formats"]["ob2_hosted"].as_str().unwrap(),
            200,
            Duration::from_secs(10),
        )
        .await?
        .json()
        .await?;
    assert_eq!(hosted["narrative"], "Led the capstone project.");
    assert_eq!(hosted["evidence"][0]["id"], "https://portfolio.example.ac.jp/mei");
    let ob3: Value = stack
        .http
        .get(first["award"]["formats"]["ob3_vcjwt"].as_str().unwrap())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(ob3["evidence"][0]["narrative"], "Capstone report");

    // Re-issue with a correction: the original is revoked as superseded,
    // the successor carries the correction and names what it replaces.
    let reissue = |id: &str, body: Value| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/awards/{id}/reissue"))
            .json(&body)
            .send()
    };
    let corrected = reissue(
        &award_id,
        json!({"reason": "Typo in the narrative", "narrative": "Led the capstone project, with distinction."}),
    )
    .await?;
    assert_eq!(corrected.status(), 201);
    let corrected: Value = corrected.json().await?;
    let new_award = &corrected["award"];
    assert_ne!(new_award["award_id"], award_id.as_str());
    assert_eq!(new_award["supersedes"], award_id.as_str());
    let new_hosted: Value = stack
        .wait_for_status(
            new_award["formats"]["ob2_hosted"].as_str().unwrap(),
            200,
            Duration::from_secs(10),
        )
        .await?
        .json()
        .await?;
    assert_eq!(new_hosted["narrative"], "Led the capstone project, with distinction.");
    assert_eq!(
        new_hosted["evidence"][0]["id"], "https://portfolio.example.ac.jp/mei",
        "uncorrected fields are kept"
    );
    let old_hosted = first["award"]["formats"]["ob2_hosted"].as_str().unwrap();
    stack.wait_for_status(old_hosted, 410, Duration::from_secs(10)).await?;
    let mei = stack.awards("mei@example.ac.jp").await?;
    let old = mei.iter().find(|a| a["award_id"] == award_id.as_str()).unwrap();
    assert_eq!(old["status"], "revoked");
    assert!(
        old["revocation_reason"]
            .as_str()
            .unwrap()
            .starts_with("Superseded by a corrected credential")
    );
    assert_eq!(stack.verify(old_hosted, None).await?["status"], "revoked");
    assert_eq!(
        reissue(&award_id, json!({"reason": "again"})).await?.status(),
        200,
        "re-issued once"
    );

    // Without a client key: one award of a badge class per recipient.
    let plain = json!({"badge_class_id": seed.badge_class_id, "recipient": {"email": "sora@example.ac.jp"}});
    assert_eq!(award(plain.clone()).await?.status(), 201);
    assert_eq!(award(plain).await?.status(), 200);

    // Bad input: clear errors, nothing queued.
    let bad = award(json!({"badge_class_id": seed.badge_class_id, "recipient": {"email": "not-an-email"}})).await?;
    assert_eq!(bad.status(), 422);
    let bad = award(
        json!({"badge_class_id": seed.badge_class_id, "recipient": {"email": "a@b.jp"},
                           "evidence": [{"url": "javascript:alert(1)"}]}),
    )
    .await?;
    assert_eq!(bad.status(), 422);
    let missing = award(json!({"badge_class_id": uuid::Uuid::new_v4(), "recipient": {"email": "a@b.jp"}})).await?;
    assert_eq!(missing.status(), 404);

    // Bulk: per-row results; valid rows queued, others reported.
    let csv = "email,name,narrative,evidence_url,evidence_narrative\n\
               hiro@example.ac.jp,Hiro,Top of the class,https://example.ac.jp/e/1,Final exam\n\
               nana@example.ac.jp,Nana,,,\n\
               not-an-email,Bad,,,\n\
               HIRO@example.ac.jp,Hiro again,,,\n\
               sora@example.ac.jp,Sora,,,\n\
               kai@example.ac.jp,,,,\n";
    let post_csv = |body: &'static str| {
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/badge-classes/{}/awards/bulk", seed.badge_class_id),
            )
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let result: Value = post_csv(csv).await?.json().await?;
    assert_eq!(
        (
            result["queued"].as_u64(),
            result["existing"].as_u64(),
            result["duplicate"].as_u64(),
            result["invalid"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{result:#}"
    );
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows[2]["row"], 4);
    assert_eq!(rows[2]["status"], "invalid");
    assert!(rows[2]["error"].as_str().unwrap().starts_with("email:"));
    assert_eq!(rows[3]["status"], "duplicate", "the same learner twice in one file");
    assert_eq!(rows[4]["status"], "existing", "already awarded above");
    for email in ["hiro@example.ac.jp", "nana@example.ac.jp", "kai@example.ac.jp"] {
        stack.wait_for_awards(email, 1, Duration::from_secs(10)).await?;
    }
    let hiro = stack.awards("hiro@example.ac.jp").await?.remove(0);
    let hosted: Value = stack
        .wait_for_status(
            hiro["formats"]["ob2_hosted"].as_str().unwrap(),
            200,
            Duration::from_secs(10),
        )
        .await?
        .json()
        .await?;
    assert_eq!(
        hosted["narrative"], "Top of the class",
        "each row carries its own narrative"
    );
    assert_eq!(hosted["evidence"][0]["narrative"], "Final exam");
    // Uploading the same file again awards nobody twice.
    let again: Value = post_csv(csv).await?.json().await?;
    assert_eq!(again["queued"], 0);
    assert_eq!(again["existing"], 4);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stack.awards("hiro@example.ac.jp").await?.len(), 1);
    // Not CSV, no email column: refused whole.
    let r = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/badge-classes/{}/awards/bulk", seed.badge_class_id),
        )
        .header("Content-Type", "text/csv")
        .body("name\nx\n")
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let r = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/badge-classes/{}/awards/bulk", seed.badge_class_id),
        )
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status(), 415);

    // The most recent awards need no search, and page by offset.
    let page = |offset: i64| {
        stack
            .admin(Method::GET, format!("{issuer}/admin/awards?limit=2&offset={offset}"))
            .send()
    };
    let first: Value = page(0).await?.json().await?;
    let second: Value = page(2).await?.json().await?;
    let ids = |v: &Value| -> Vec<String> {
        v["awards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["award_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first).len(), 2, "{first:#}");
    assert_eq!(first["next_offset"], 2, "a full page says where the next starts");
    assert!(
        ids(&second).iter().all(|id| !ids(&first).contains(id)),
        "pages do not overlap"
    );
    let newest = first["awards"][0]["issued_on"].as_str().unwrap().to_string();
    let older = second["awards"][0]["issued_on"].as_str().unwrap().to_string();
    assert!(newest >= older, "newest first: {newest} then {older}");
    assert_eq!(page(-1).await?.status(), 422);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_awards_are_reported_expired_by_every_judge() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let expires_on = chrono::Utc::now() + chrono::Duration::seconds(4);
    let badge: Value = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
        )
        .json(
            &json!({"name": "Safety Induction", "description": "Valid for a short time", "criteria": "Attend",
                      "image_base64": PNG_1X1, "expires_on": expires_on}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert!(badge["expires_on"].as_str().is_some(), "{badge:#}");
    let yearly: Value = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
        )
        .json(
            &json!({"name": "Annual Certification", "description": "d", "criteria": "c",
                      "image_base64": PNG_1X1, "expires_after_days": 365, "formats": ["ob2_hosted"]}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(yearly["formats"], json!(["ob2_hosted"]));
    // A malformed alignment is refused with the field named, and nothing is made.
    let bad = stack
        .admin(
            Method::POST,
            format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
        )
        .json(
            &json!({"name": "Misaligned", "description": "d", "criteria": "c", "image_base64": PNG_1X1,
                      "alignments": [{"target_name": "X", "target_url": "not a url"}]}),
        )
        .send()
        .await?;
    assert_eq!(bad.status(), 422);
    let bad: Value = bad.json().await?;
    assert_eq!(bad["error"]["code"], "invalid_field");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("alignments.target_url"),
        "{bad:#}"
    );
    let make = |badge_id: &str, email: &str| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/awards"))
            .json(&json!({"badge_class_id": badge_id, "recipient": {"email": email}}))
            .send()
    };
    let short: Value = make(badge["id"].as_str().unwrap(), "yuna@example.ac.jp")
        .await?
        .json()
        .await?;
    let long: Value = make(yearly["id"].as_str().unwrap(), "yuna@example.ac.jp")
        .await?
        .json()
        .await?;
    assert_eq!(
        long["award"]["formats"].as_object().unwrap().len(),
        1,
        "only the formats asked for"
    );
    let long_expires = chrono::DateTime::parse_from_rfc3339(long["award"]["expires"].as_str().unwrap())?;
    let long_issued = chrono::DateTime::parse_from_rfc3339(long["award"]["issued_on"].as_str().unwrap())?;
    assert_eq!((long_expires - long_issued).num_days(), 365);

    let hosted_url = short["award"]["formats"]["ob2_hosted"].as_str().unwrap().to_string();
    let ob3_url = short["award"]["formats"]["ob3_vcjwt"].as_str().unwrap().to_string();
    stack.wait_for_status(&hosted_url, 200, Duration::from_secs(10)).await?;
    let hosted: Value = stack.http.get(&hosted_url).send().await?.json().await?;
    assert!(hosted["expires"].as_str().is_some());
    let ob3: Value = stack.http.get(&ob3_url).send().await?.json().await?;
    assert!(ob3["validUntil"].as_str().is_some());
    assert_eq!(
        stack.verify(&hosted_url, None).await?["status"],
        "valid",
        "valid before its expiry"
    );

    tokio::time::sleep((expires_on - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1)).await;
    let verdict = stack.verify(&hosted_url, None).await?;
    assert_eq!(verdict["status"], "expired", "{verdict:#}");
    let verdict = stack.verify(&ob3_url, None).await?;
    assert_eq!(
        (verdict["status"].as_str(), verdict["format"].as_str()),
        (Some("expired"), Some("ob3-di")),
        "{verdict:#}"
    );
    let jwt = stack
        .http
        .get(&ob3_url)
        .header("Accept", "application/jwt")
        .send()
        .await?
        .text()
        .await?;
    let verdict: Value = stack
        .http
        .post(format!("{}/verify", stack.url(Service::Verifier)))
        .json(&serde_json::json!({"jwt": jwt}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        (verdict["status"].as_str(), verdict["format"].as_str()),
        (Some("expired"), Some("ob3-vcjwt")),
        "{verdict:#}"
    );
    let url = ob3_url.clone();
    // The library allows 300 s of clock skew by default; this one expired seconds ago.
    let judge =
        tokio::task::spawn_blocking(move || akashi_e2e::di_judge_with(&["--max-clock-skew", "0", &url])).await??;
    assert_eq!(
        judge["verified"], false,
        "the Data Integrity judge sees the expiry: {judge:#}"
    );
    assert!(
        judge["errors"].to_string().contains("validUntil") || judge["errors"].to_string().contains("expired"),
        "{judge:#}"
    );
    let lookup = stack.awards("yuna@example.ac.jp").await?;
    let short_now = lookup
        .iter()
        .find(|a| a["award_id"] == short["award"]["award_id"])
        .unwrap();
    assert_eq!(short_now["status"], "expired");
    let url = hosted_url.clone();
    let judge = tokio::task::spawn_blocking(move || ob2_validator(&url, None)).await??;
    assert_eq!(
        judge["valid"], false,
        "the 1EdTech validator sees the expiry: {judge:#}"
    );
    let judge = tokio::task::spawn_blocking(move || vcjwt_judge(&[&ob3_url])).await??;
    assert_eq!(judge["valid"], false, "PyJWT rejects the expired VC-JWT: {judge:#}");
    Ok(())
}
