//! The admin API: bearer tokens with scopes, tenants that cannot see each
//! other, tokens reaching the other services over the bus, and clear errors
//! for bad input that change nothing.

use std::time::Duration;

use akashi_e2e::{Service, Stack};
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_scopes_tenancy_and_validation() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let issuer = stack.url(Service::Issuer);
    let lms = stack.url(Service::LmsAdapter);

    // No token, a wrong token: 401 with the JSON error shape.
    let r = stack.http.get(format!("{issuer}/admin/issuers")).send().await?;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await?["error"]["code"], "unauthorized");
    let r = stack
        .http
        .get(format!("{issuer}/admin/issuers"))
        .bearer_auth("akt_nope")
        .send()
        .await?;
    assert_eq!(r.status(), 401);

    // Two tenants.
    let create = |name: &str| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/issuers"))
            .json(&json!({
                "name": name, "url": "https://example.ac.jp", "email": "badges@example.ac.jp"
            }))
    };
    let a: Value = create("Tenant A University").send().await?.json().await?;
    let b: Value = create("Tenant B College").send().await?.json().await?;
    let (a_id, b_id) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        create("tenant a university").send().await?.status(),
        409,
        "names are unique, case-insensitively"
    );

    // Validation: 422 with a code naming the field; nothing created.
    let r = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers"))
        .json(&json!({"name": "X", "url": "javascript:alert(1)", "email": "x@y.jp"}))
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await?;
    assert_eq!(e["error"]["code"], "invalid_field");
    assert!(e["error"]["message"].as_str().unwrap().starts_with("url:"));
    let r = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers"))
        .body("{not json")
        .header("Content-Type", "application/json")
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let all: Vec<Value> = stack
        .admin(Method::GET, format!("{issuer}/admin/issuers"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(all.len(), 2);

    // Badge classes: PNG via JSON, SVG via multipart; a GIF is refused.
    let badge_a: Value = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers/{a_id}/badge-classes"))
        .json(&json!({"name": "A Badge", "description": "d", "criteria": "c", "image_base64": PNG_1X1}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(badge_a["image_content_type"], "image/png");
    let form = reqwest::multipart::Form::new()
        .text("name", "B Badge")
        .text("description", "d")
        .text("criteria", "c")
        .part(
            "image",
            reqwest::multipart::Part::bytes(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec()).file_name("b.svg"),
        );
    let r = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers/{b_id}/badge-classes"))
        .multipart(form)
        .send()
        .await?;
    assert_eq!(r.status(), 201);
    let badge_b: Value = r.json().await?;
    assert_eq!(badge_b["image_content_type"], "image/svg+xml");
    let gif = "R0lGODlhAQABAAAAACw=";
    let r = stack
        .admin(Method::POST, format!("{issuer}/admin/issuers/{a_id}/badge-classes"))
        .json(&json!({"name": "Gif", "description": "d", "criteria": "c", "image_base64": gif}))
        .send()
        .await?;
    assert_eq!(r.status(), 422);

    // A tenant-bound token for A with a few scopes.
    let r = stack.admin(Method::POST, format!("{issuer}/admin/tokens"))
        .json(&json!({"name": "a-ops", "scopes": ["issuers:read", "badges:write", "awards:read", "rules:write", "rules:read"], "issuer_id": a_id}))
        .send().await?;
    assert_eq!(r.status(), 201);
    let token: Value = r.json().await?;
    let a_token = token["token"].as_str().unwrap().to_string();
    assert!(a_token.starts_with("akt_"));
    assert_eq!(
        stack
            .count(
                Service::Issuer,
                &format!(
                    "SELECT count(*) AS n FROM admin_tokens WHERE token_hash = '{}'",
                    akashi_crypto::token::hash_token(&a_token)
                )
            )
            .await?,
        1,
        "stored hashed"
    );
    assert_eq!(
        stack
            .count(
                Service::Issuer,
                &format!("SELECT count(*) AS n FROM admin_tokens WHERE token_hash = '{a_token}'")
            )
            .await?,
        0,
        "never stored in clear"
    );
    let as_a = |m: Method, url: String| stack.http.request(m, url).bearer_auth(&a_token);

    // A sees itself only; B's resources answer 404, as if they did not exist.
    let visible: Vec<Value> = as_a(Method::GET, format!("{issuer}/admin/issuers"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0]["id"], a_id.as_str());
    assert_eq!(
        as_a(Method::GET, format!("{issuer}/admin/issuers/{b_id}"))
            .send()
            .await?
            .status(),
        404
    );
    assert_eq!(
        as_a(
            Method::GET,
            format!("{issuer}/admin/badge-classes/{}", badge_b["id"].as_str().unwrap())
        )
        .send()
        .await?
        .status(),
        404
    );
    assert_eq!(
        as_a(Method::POST, format!("{issuer}/admin/issuers/{b_id}/badge-classes"))
            .json(&json!({"name": "Sneaky", "description": "d", "criteria": "c", "image_base64": PNG_1X1}))
            .send()
            .await?
            .status(),
        404
    );
    // Missing scopes: 403. Tenant tokens cannot create tenants.
    assert_eq!(
        as_a(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "x", "scopes": ["admin"]}))
            .send()
            .await?
            .status(),
        403
    );
    assert_eq!(
        as_a(Method::POST, format!("{issuer}/admin/issuers"))
            .json(&json!({"name": "C", "url": "https://c.jp", "email": "c@c.jp"}))
            .send()
            .await?
            .status(),
        403
    );

    // The token reaches the lms-adapter over the bus; rules obey the tenant there too.
    let mut rule = None;
    for _ in 0..100 {
        let r = as_a(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"course_id": "A-101", "badge_class_id": badge_a["id"]}))
            .send()
            .await?;
        if r.status() == 201 {
            rule = Some(r.json::<Value>().await?);
            break;
        }
        assert!(matches!(r.status().as_u16(), 401 | 404), "unexpected {}", r.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rule = rule.expect("the tenant token and badge class reached the lms-adapter");
    assert_eq!(rule["issuer_id"], a_id.as_str());
    let r = as_a(Method::POST, format!("{lms}/admin/rules"))
        .json(&json!({"course_id": "B-101", "badge_class_id": badge_b["id"]}))
        .send()
        .await?;
    assert_eq!(r.status(), 404, "another tenant's badge class is invisible");
    let rules: Vec<Value> = stack
        .admin(Method::GET, format!("{lms}/admin/rules"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(rules.len(), 1);
    // Retroactive evaluation and the decision log are per tenant too.
    let rule_b: Value = stack
        .admin(Method::POST, format!("{lms}/admin/rules"))
        .json(&json!({"course_id": "B-101", "badge_class_id": badge_b["id"]}))
        .send()
        .await?
        .json()
        .await?;
    let rule_b_id = rule_b["id"].as_str().expect("B's rule").to_string();
    let rule_a_id = rule["id"].as_str().unwrap().to_string();
    for (method, path) in [
        (Method::POST, format!("{lms}/admin/rules/{rule_b_id}/dry-run")),
        (Method::POST, format!("{lms}/admin/rules/{rule_b_id}/apply")),
        (
            Method::GET,
            format!("{lms}/admin/rules/{rule_b_id}/explain?learner=x@example.ac.jp"),
        ),
    ] {
        let r = as_a(method, path.clone()).send().await?;
        assert_eq!(r.status(), 404, "{path}: another tenant's rule does not exist for A");
    }
    assert_eq!(
        as_a(Method::POST, format!("{lms}/admin/rules/{rule_a_id}/dry-run"))
            .send()
            .await?
            .status(),
        200
    );
    let seen: Vec<Value> = as_a(Method::GET, format!("{lms}/admin/decisions?rule_id={rule_b_id}"))
        .send()
        .await?
        .json()
        .await?;
    assert!(seen.is_empty());
    for path in ["admin/learners", "admin/lti/platforms", "admin/events"] {
        let r = as_a(Method::GET, format!("{lms}/{path}")).send().await?;
        assert_eq!(r.status(), 403, "{path} spans every tenant");
    }
    assert_eq!(
        as_a(Method::PUT, format!("{lms}/admin/webhook-sources/generic"))
            .json(&json!({"secrets": ["long-enough"]}))
            .send()
            .await?
            .status(),
        403
    );

    // Revoking the token takes effect on both services.
    let r = stack
        .admin(
            Method::DELETE,
            format!("{issuer}/admin/tokens/{}", token["id"].as_str().unwrap()),
        )
        .send()
        .await?;
    assert_eq!(r.status(), 204);
    assert_eq!(
        as_a(Method::GET, format!("{issuer}/admin/issuers"))
            .send()
            .await?
            .status(),
        401
    );
    let mut refused = false;
    for _ in 0..100 {
        if as_a(Method::GET, format!("{lms}/admin/rules")).send().await?.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the revocation reached the lms-adapter");

    // The awards lookup refuses what is not an e-mail address.
    let r = stack
        .admin(Method::GET, format!("{issuer}/admin/awards?recipient=nobody"))
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    Ok(())
}
