//! `HEAD` answers like `GET`, without the body, on every GET route of every
//! service — the routes read from each service's own OpenAPI document, so a
//! new route is covered the day it is declared.

use std::time::Duration;

use akashi_e2e::{Service, Stack};
use serde_json::Value;

/// A path of the OpenAPI document with its parameters filled in: the
/// seeded award's and issuer's ids where a route names them, else a
/// random id (then both methods answer the same 404).
fn concrete(path: &str, award_id: &str, issuer_id: &str, badge_class_id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).unwrap_or(rest.len() - 1);
        let name = &rest[open + 1..close];
        let value = match name {
            "id" | "assertion_id" | "award_id" => award_id.to_string(),
            "issuer_id" => issuer_id.to_string(),
            "badge_class_id" => badge_class_id.to_string(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_equals_get_without_the_body_on_every_get_route() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let email = "head@example.ac.jp";
    let award = stack.complete_course("evt-head", email, "DEMO-101").await?;
    let award_id = award["award_id"].as_str().unwrap().to_string();
    // Every service has heard of the award before routes are compared.
    stack
        .wait_for_status(
            &format!("{}/badges/{award_id}", stack.url(Service::Display)),
            200,
            Duration::from_secs(20),
        )
        .await?;
    let http = akashi_e2e::no_redirects();
    let mut compared = 0;
    for service in Service::ALL {
        let base = stack.url(service);
        let openapi: Value = http.get(format!("{base}/openapi.json")).send().await?.json().await?;
        let paths = openapi["paths"].as_object().expect("paths").clone();
        for (path, item) in paths {
            if item.get("get").is_none() {
                continue;
            }
            let url = format!(
                "{base}{}",
                concrete(&path, &award_id, &seed.issuer_id, &seed.badge_class_id)
            );
            let get = http.get(&url).send().await?;
            let head = http.head(&url).send().await?;
            assert_eq!(head.status(), get.status(), "{} {path}", service.name());
            let header = |r: &reqwest::Response, name: &str| {
                r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
            };
            assert_eq!(
                header(&head, "content-type"),
                header(&get, "content-type"),
                "{} {path}",
                service.name()
            );
            for name in [
                "location",
                "cache-control",
                "content-security-policy",
                "x-content-type-options",
            ] {
                assert_eq!(
                    header(&head, name),
                    header(&get, name),
                    "{} {path}: {name}",
                    service.name()
                );
            }
            let get_length = header(&get, "content-length");
            let head_length = header(&head, "content-length");
            let get_body = get.bytes().await?;
            // Documents are stable between two requests; pages with live
            // status or counters may differ by a few bytes.
            let stable = ["/ob2/", "/ob3/", "/blockcerts/", "/openapi.json", "/issuers/"]
                .iter()
                .any(|p| path.starts_with(p));
            if stable && get_length.is_some() {
                assert_eq!(head_length, get_length, "{} {path}", service.name());
            }
            assert!(
                head_length.is_some() || get_body.is_empty() || get_length.is_none(),
                "{} {path}",
                service.name()
            );
            assert!(
                head.bytes().await?.is_empty(),
                "{} {path}: HEAD has no body",
                service.name()
            );
            compared += 1;
        }
    }
    assert!(compared > 40, "only {compared} GET routes compared");
    Ok(())
}
