//! Every link Akashi gives a person verifies as what it is: the badge page
//! (the link in the mail, on the certificate, in the LinkedIn entry), its
//! embed card and the certificate's printed URL, pasted into `POST /verify`
//! or display's `/verify` page, answer `valid` — and once the badge is
//! revoked, `revoked` with its reason, never `invalid`.

use std::time::Duration;

use akashi_e2e::{Service, Stack};
use serde_json::Value;

/// The value of `name` in the query string of the link in `page` that
/// starts with `marker`, read as a browser reads the attribute (askama
/// writes `/` as `&#x2f;` and `&` as `&#38;`).
fn query_param_after(page: &str, marker: &str, name: &str) -> Option<String> {
    let page = page
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let start = page.find(marker)?;
    let href = page[start..].split('"').next()?;
    let url = url::Url::parse(href).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The URLs a person is given for one award.
async fn links_of(stack: &Stack, award: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let page_url = award["badge_page"].as_str().expect("badge_page").to_string();
    let display = stack.url(Service::Display);
    let id = award["award_id"].as_str().unwrap();
    // The page shows its share buttons once its live check says valid
    // (host hears of the award over the bus, a moment after display).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = stack
            .http
            .get(&page_url)
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await?
            .text()
            .await?;
        if page.contains("id=\"linkedin\"") || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let linkedin = query_param_after(&page, "https://www.linkedin.com/profile/add", "certUrl").unwrap_or_else(|| {
        let status = page
            .split("data-status=")
            .nth(1)
            .unwrap_or(&page)
            .chars()
            .take(300)
            .collect::<String>();
        panic!("the LinkedIn button carries certUrl; the page says {status}")
    });
    let mut links = vec![
        ("badge page".to_string(), page_url.clone()),
        ("badge page, Japanese".to_string(), format!("{page_url}?lang=ja")),
        ("embed card".to_string(), format!("{display}/badges/{id}/embed")),
        ("LinkedIn certUrl".to_string(), linkedin),
    ];
    // The certificate's printed verification URL, read back from the PDF.
    let pdf = stack
        .http
        .get(format!("{display}/badges/{id}/certificate.pdf?lang=en"))
        .send()
        .await?;
    // The page offers the certificate, so it must be there.
    anyhow::ensure!(pdf.status() == 200, "the certificate answered {}", pdf.status());
    let text = akashi_e2e::pdf_text(&pdf.bytes().await?)?;
    let printed = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{display}/badges/")))
        .expect("the certificate prints its verification URL")
        .to_string();
    links.push(("certificate's printed URL".to_string(), printed));
    Ok(links)
}

async fn verify_page_status(stack: &Stack, url: &str) -> anyhow::Result<String> {
    let page = stack
        .http
        .post(format!("{}/verify?lang=en", stack.url(Service::Display)))
        .multipart(reqwest::multipart::Form::new().text("url", url.to_string()))
        .send()
        .await?
        .text()
        .await?;
    Ok(page
        .split("data-status=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("none")
        .to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_a_person_is_given_verifies_then_reads_revoked() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let email = "haru@example.ac.jp";
    let award = stack.complete_course("evt-links", email, "DEMO-101").await?;
    let links = links_of(&stack, &award).await?;
    assert_eq!(links.len(), 5, "{links:?}");

    // The page answers JSON clients with its credential.
    let page_url = award["badge_page"].as_str().unwrap();
    let no_redirects = akashi_e2e::no_redirects();
    let r = no_redirects
        .get(page_url)
        .header("Accept", "application/ld+json")
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        award["formats"]["ob2_hosted"].as_str().unwrap()
    );
    let r = no_redirects
        .get(page_url)
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await?;
    assert_eq!(r.status(), 200, "browsers get the page");

    for (what, url) in &links {
        let report = stack.verify(url, Some(email)).await?;
        assert_eq!(report["status"], "valid", "{what} {url}: {report:#}");
        assert_eq!(report["recipient"]["matched"], true, "{what}");
        assert_eq!(
            verify_page_status(&stack, url).await?,
            "valid",
            "{what} on the /verify page"
        );
    }

    // Revoked: every link says so, with the reason.
    let reason = "Awarded in error (wrong cohort)";
    stack.revoke(&award, reason).await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for (what, url) in &links {
        let report = loop {
            let report = stack.verify(url, None).await?;
            if report["status"] != "valid" || std::time::Instant::now() > deadline {
                break report;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(report["status"], "revoked", "{what} {url}: {report:#}");
        assert!(
            report.to_string().contains(reason),
            "{what}: the reason is given: {report:#}"
        );
        assert_eq!(
            verify_page_status(&stack, url).await?,
            "revoked",
            "{what} on the /verify page"
        );
    }
    Ok(())
}
