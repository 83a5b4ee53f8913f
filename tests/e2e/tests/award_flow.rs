//! The first automatic badge, end to end: a signed completion → an OB 2.0
//! hosted assertion that the 1EdTech validator accepts, a badge page, a valid
//! verification; then a revocation seen everywhere.

use std::time::{Duration, Instant};

use akashi_e2e::{Service, Stack, ob2_validator};
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_completion_becomes_a_hosted_displayed_verifiable_badge() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    // The seed is idempotent: a second run finds what the first made.
    let again = stack.seed().await?;
    assert_eq!(
        (
            again.issuer_id.as_str(),
            again.badge_class_id.as_str(),
            again.rule_id.as_str()
        ),
        (
            seed.issuer_id.as_str(),
            seed.badge_class_id.as_str(),
            seed.rule_id.as_str()
        )
    );

    let email = "Hanako@Example.ac.jp";
    let started = Instant::now();
    let response = stack
        .post_completion(&Stack::completion("evt-flow-1", email, "DEMO-101"))
        .await?;
    assert_eq!(response.status(), 202);
    let accepted: serde_json::Value = response.json().await?;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["awards_requested"], 1);
    assert!(accepted["id"].as_str().is_some(), "202 carries the stored event's id");

    let awards = stack
        .wait_for_awards("hanako@example.ac.jp", 1, Duration::from_secs(10))
        .await?;
    let award = &awards[0];
    let assertion_url = award["formats"]["ob2_hosted"].as_str().expect("hosted URL").to_string();
    let hosted = stack
        .wait_for_status(&assertion_url, 200, Duration::from_secs(10))
        .await?;
    println!("webhook → hosted assertion: {:?}", started.elapsed());
    assert_eq!(award["status"], "active");
    assert_eq!(award["badge_class"]["id"], seed.badge_class_id.as_str());
    assert_eq!(award["issuer"]["name"], "Akashi Demo University");

    // Served as JSON-LD, id equal to its URL, recipient hashed with a salt.
    assert_eq!(hosted.headers()["content-type"], "application/ld+json");
    assert_eq!(hosted.headers()["access-control-allow-origin"], "*");
    let doc: serde_json::Value = hosted.json().await?;
    assert_eq!(doc["id"], assertion_url.as_str());
    assert_eq!(doc["type"], "Assertion");
    assert_eq!(doc["recipient"]["hashed"], true);
    assert!(doc["recipient"]["identity"].as_str().unwrap().starts_with("sha256$"));
    assert!(
        doc["issuedOn"].as_str().unwrap().ends_with('Z'),
        "dates carry a time zone"
    );
    for url in [doc["badge"].as_str().unwrap().to_string()] {
        let badge: serde_json::Value = stack.http.get(&url).send().await?.json().await?;
        assert_eq!(badge["id"], url.as_str());
        let issuer_url = badge["issuer"].as_str().unwrap();
        let issuer: serde_json::Value = stack.http.get(issuer_url).send().await?.json().await?;
        assert_eq!(issuer["id"], issuer_url);
        let image = stack.http.get(badge["image"].as_str().unwrap()).send().await?;
        assert_eq!(image.headers()["content-type"], "image/svg+xml");
    }

    // The third-party judge: the 1EdTech validator, with the expected recipient.
    let url = assertion_url.clone();
    let report = tokio::task::spawn_blocking(move || ob2_validator(&url, Some("hanako@example.ac.jp"))).await??;
    assert_eq!(report["valid"], true, "1EdTech validator report: {report:#}");
    assert_eq!(report["errorCount"], 0);
    // ...and it does notice a wrong recipient, so its "valid" above means something.
    let url = assertion_url.clone();
    let wrong = tokio::task::spawn_blocking(move || ob2_validator(&url, Some("someone.else@example.ac.jp"))).await??;
    assert_eq!(
        wrong["valid"], false,
        "validator must reject a wrong recipient: {wrong:#}"
    );

    // An HTML request for the assertion is sent to the badge page.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let html_request = no_redirect
        .get(&assertion_url)
        .header("Accept", "text/html")
        .send()
        .await?;
    assert_eq!(html_request.status(), 303);
    assert_eq!(
        html_request.headers()["location"],
        award["badge_page"].as_str().unwrap()
    );

    // Our verifier: valid, recipient matched, every check listed.
    let verdict = stack.verify(&assertion_url, Some("hanako@example.ac.jp")).await?;
    assert_eq!(verdict["status"], "valid", "{verdict:#}");
    assert_eq!(verdict["format"], "ob2-hosted");
    assert_eq!(verdict["recipient"]["matched"], true);
    assert_eq!(verdict["issuer"]["name"], "Akashi Demo University");
    let ids: Vec<&str> = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for expected in [
        "fetch_assertion",
        "assertion_id_matches_url",
        "badge_class_id_matches_url",
        "issuer_id_matches_url",
        "verification_scope",
        "issued_on",
        "expires",
        "revocation_list",
        "recipient",
    ] {
        assert!(ids.contains(&expected), "check {expected} missing from {ids:?}");
    }
    // A candidate's record at once: one result per item, in order, bad items
    // answered with their own error.
    let batch: serde_json::Value = stack
        .http
        .post(format!("{}/verify/batch", stack.url(Service::Verifier)))
        .json(&serde_json::json!({"items": [
            {"url": assertion_url, "recipient": "hanako@example.ac.jp"},
            {"jwt": "not a token"},
            {"url": "http://10.0.0.1/badge"},
            {"url": award["formats"]["ob3_vcjwt"]},
        ]}))
        .send()
        .await?
        .json()
        .await?;
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["status"], "valid");
    assert_eq!(results[1]["error"]["code"], "invalid_jwt");
    assert_eq!(
        results[2]["error"]["code"], "url_not_allowed",
        "private addresses are refused"
    );
    assert_eq!(
        (results[3]["status"].as_str(), results[3]["format"].as_str()),
        (Some("valid"), Some("ob3-di")),
        "the JSON credential at the URL carries a Data Integrity proof, verified as served"
    );
    let other = stack.verify(&assertion_url, Some("someone.else@example.ac.jp")).await?;
    assert_eq!(other["status"], "invalid");
    assert_eq!(other["recipient"]["matched"], false);

    // The badge page, in English and in Japanese.
    let page_url = award["badge_page"].as_str().unwrap();
    let page = stack
        .http
        .get(page_url)
        .header("Accept-Language", "en-US,en;q=0.9")
        .send()
        .await?;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str()?.starts_with("text/html"));
    let html = page.text().await?;
    for needle in [
        "Introduction to Data Science",
        "Akashi Demo University",
        "data-status=\"valid\"",
        "Issued on",
        "<meta property=\"og:title\"",
        "/ob2/badges/",
        "/image.png\" download",
        "/image.svg\" download",
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME",
        "certId=",
    ] {
        assert!(html.contains(needle), "page lacks {needle}");
    }
    let ja = stack
        .http
        .get(format!("{page_url}?lang=ja"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        ja.contains("lang=\"ja\"") && ja.contains("発行者") && ja.contains("検証済み"),
        "Japanese page"
    );
    let missing = stack
        .http
        .get(format!(
            "{}/badges/{}",
            stack.url(Service::Display),
            uuid::Uuid::new_v4()
        ))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);

    // Revocation: host answers 410, the verifier says revoked, the page too.
    let award_id = award["award_id"].as_str().unwrap();
    let revoked = stack
        .admin(
            Method::POST,
            format!("{}/admin/awards/{award_id}/revoke", stack.url(Service::Issuer)),
        )
        .json(&serde_json::json!({"reason": "Issued in error"}))
        .send()
        .await?;
    assert_eq!(revoked.status(), 200);
    let gone = stack
        .wait_for_status(&assertion_url, 410, Duration::from_secs(10))
        .await?;
    let gone: serde_json::Value = gone.json().await?;
    assert_eq!(gone["revoked"], true);
    assert_eq!(gone["revocationReason"], "Issued in error");
    let verdict = stack.verify(&assertion_url, None).await?;
    assert_eq!(verdict["status"], "revoked");
    let awards = stack.awards("hanako@example.ac.jp").await?;
    assert_eq!(awards[0]["status"], "revoked");
    assert_eq!(awards[0]["revocation_reason"], "Issued in error");
    let issuer_url = doc["badge"].as_str().unwrap().replace(
        &format!("badges/{}", seed.badge_class_id),
        &format!("revocations/{}", seed.issuer_id),
    );
    let list: serde_json::Value = stack.http.get(&issuer_url).send().await?.json().await?;
    assert_eq!(list["revokedAssertions"][0]["id"], assertion_url.as_str());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let html = stack.http.get(page_url).send().await?.text().await?;
        if html.contains("data-status=\"revoked\"") {
            assert!(html.contains("Issued in error"), "the page gives the reason");
            assert!(
                !html.contains("linkedin.com"),
                "a revoked badge is not offered for LinkedIn"
            );
            break;
        }
        assert!(Instant::now() < deadline, "badge page never showed the revocation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
