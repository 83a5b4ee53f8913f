//! The tenancy matrix: every admin endpoint of every service, called by
//! tenant A's owner with tenant B's resources, answers 403 or 404 and its
//! body names nothing of B; A's lists hold nothing of B. Then the roles:
//! a viewer changes nothing, an editor mints no tokens, an owner grants no
//! scope it lacks.

use std::time::Duration;

use akashi_e2e::{Service, Stack};
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async fn json_of(r: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let r = r.send().await?;
    anyhow::ensure!(r.status().is_success(), "{} {}", r.status(), r.text().await?);
    Ok(r.json().await?)
}

/// Waits until `token` is known to the lms-adapter and the verifier (it
/// travels as `admin.token.created`).
async fn wait_known(stack: &Stack, token: &str) -> anyhow::Result<()> {
    for url in [
        format!("{}/admin/rules", stack.url(Service::LmsAdapter)),
        format!("{}/admin/api-clients", stack.url(Service::Verifier)),
    ] {
        let mut known = false;
        for _ in 0..100 {
            if stack.http.get(&url).bearer_auth(token).send().await?.status() != 401 {
                known = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(known, "{url} never learned the token");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_token_sees_and_touches_nothing_and_roles_hold() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let (issuer, lms, verifier) = (
        stack.url(Service::Issuer),
        stack.url(Service::LmsAdapter),
        stack.url(Service::Verifier),
    );

    // Tenant B, with a badge class, a rule, an award and its decision.
    let b: Value = json_of(stack.admin(Method::POST, format!("{issuer}/admin/issuers")).json(
        &json!({"name": "Tenant B University", "url": "https://b.example.ac.jp", "email": "badges@b.example.ac.jp"}),
    ))
    .await?;
    let b_id = b["id"].as_str().unwrap().to_string();
    let b_badge: Value = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/issuers/{b_id}/badge-classes"))
            .json(
                &json!({"name": "Tenant B Secret Badge", "description": "d", "criteria": "c", "image_base64": PNG_1X1}),
            ),
    )
    .await?;
    let b_badge_id = b_badge["id"].as_str().unwrap().to_string();
    let mut b_rule = Value::Null;
    for _ in 0..100 {
        let r = stack
            .admin(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"course_id": "B-SECRET-101", "badge_class_id": b_badge_id}))
            .send()
            .await?;
        if r.status() == 201 {
            b_rule = r.json().await?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b_rule_id = b_rule["id"].as_str().expect("B's rule").to_string();
    let b_learner = "b.learner@b.example.ac.jp";
    assert_eq!(
        stack
            .post_completion(&Stack::completion("evt-b-1", b_learner, "B-SECRET-101"))
            .await?
            .status(),
        202
    );
    let b_awards = stack.wait_for_awards(b_learner, 1, Duration::from_secs(60)).await?;
    let b_award_id = b_awards[0]["award_id"].as_str().unwrap().to_string();
    let b_decisions: Value =
        json_of(stack.admin(Method::GET, format!("{lms}/admin/decisions?rule_id={b_rule_id}"))).await?;
    let b_decision_id = b_decisions[0]["id"].as_str().unwrap().to_string();

    let b_token: Value = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "Tenant B registrar", "role": "owner", "issuer_id": b_id})),
    )
    .await?;
    let b_token_id = b_token["id"].as_str().unwrap().to_string();
    // B's HR system hears of B's badges.
    let b_subscription: Value = json_of(
        reqwest::Client::new()
            .post(format!("{issuer}/admin/webhook-subscriptions"))
            .bearer_auth(b_token["token"].as_str().unwrap())
            .json(&json!({"url": "http://127.0.0.1:9/b-hr", "events": ["badge.issued"]})),
    )
    .await?;
    let b_sub = b_subscription["id"].as_str().unwrap().to_string();

    // Tenant A is the seeded issuer; its owner, editor and viewer.
    let a_id = seed.issuer_id.clone();
    let mint = |role: &str| {
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": format!("a-{role}"), "role": role, "issuer_id": a_id}))
    };
    let owner: Value = json_of(mint("owner")).await?;
    assert_eq!(owner["role"], "owner");
    let owner = owner["token"].as_str().unwrap().to_string();
    let editor = json_of(mint("editor")).await?["token"].as_str().unwrap().to_string();
    let viewer = json_of(mint("viewer")).await?["token"].as_str().unwrap().to_string();
    for t in [&owner, &editor, &viewer] {
        wait_known(&stack, t).await?;
    }

    // Every admin endpoint, aimed at B (or platform-wide), with A's owner.
    let secrets = [
        b_id.as_str(),
        b_badge_id.as_str(),
        b_rule_id.as_str(),
        b_award_id.as_str(),
        b_decision_id.as_str(),
        b_token_id.as_str(),
        b_sub.as_str(),
        b_learner,
        "Tenant B",
        "B-SECRET-101",
    ];
    let some_id = "01900000-0000-7000-8000-000000000000";
    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{issuer}/admin/issuers/{b_id}"), None),
        (
            Method::GET,
            format!("{issuer}/admin/issuers/{b_id}/badge-classes"),
            None,
        ),
        (
            Method::POST,
            format!("{issuer}/admin/issuers/{b_id}/badge-classes"),
            Some(json!({"name": "x", "description": "d", "criteria": "c", "image_base64": PNG_1X1})),
        ),
        (Method::GET, format!("{issuer}/admin/badge-classes/{b_badge_id}"), None),
        (Method::POST, format!("{issuer}/admin/issuers/{b_id}/keys/rotate"), None),
        (
            Method::POST,
            format!("{issuer}/admin/awards"),
            Some(json!({"badge_class_id": b_badge_id, "recipient": {"email": "x@a.jp"}})),
        ),
        (
            Method::POST,
            format!("{issuer}/admin/badge-classes/{b_badge_id}/awards/bulk"),
            Some(Value::String("email\nx@a.jp\n".into())),
        ),
        (
            Method::POST,
            format!("{issuer}/admin/awards/{b_award_id}/revoke"),
            Some(json!({"reason": "no"})),
        ),
        (
            Method::POST,
            format!("{issuer}/admin/awards/{b_award_id}/reissue"),
            Some(json!({"reason": "no"})),
        ),
        (
            Method::POST,
            format!("{issuer}/admin/awards/{b_award_id}/resend-mail"),
            None,
        ),
        (
            Method::POST,
            format!("{issuer}/admin/tokens"),
            Some(json!({"name": "x", "role": "viewer", "issuer_id": b_id})),
        ),
        (Method::DELETE, format!("{issuer}/admin/tokens/{b_token_id}"), None),
        (
            Method::POST,
            format!("{issuer}/admin/webhook-subscriptions"),
            Some(json!({"url": "http://127.0.0.1:9/h", "events": ["badge.issued"], "issuer_id": b_id})),
        ),
        (
            Method::POST,
            format!("{issuer}/admin/webhook-subscriptions"),
            Some(json!({"url": "http://127.0.0.1:9/h", "events": ["badge.issued"], "badge_class_id": b_badge_id})),
        ),
        (
            Method::GET,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}"),
            None,
        ),
        (
            Method::PATCH,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}"),
            Some(json!({"enabled": false})),
        ),
        (
            Method::DELETE,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}"),
            None,
        ),
        (
            Method::POST,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}/rotate-secret"),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}/deliveries"),
            None,
        ),
        (
            Method::POST,
            format!("{issuer}/admin/webhook-subscriptions/{b_sub}/replay"),
            Some(json!({"since": "2026-01-01T00:00:00Z"})),
        ),
        (Method::GET, format!("{issuer}/admin/dead-letters"), None),
        (
            Method::POST,
            format!("{issuer}/admin/dead-letters/{some_id}"),
            Some(json!({"action": "replay"})),
        ),
        (
            Method::POST,
            format!("{lms}/admin/rules"),
            Some(json!({"course_id": "X", "badge_class_id": b_badge_id})),
        ),
        (Method::GET, format!("{lms}/admin/rules/{b_rule_id}"), None),
        (
            Method::PUT,
            format!("{lms}/admin/rules/{b_rule_id}"),
            Some(json!({"active": false})),
        ),
        (Method::GET, format!("{lms}/admin/rules/{b_rule_id}/versions"), None),
        (Method::GET, format!("{lms}/admin/rules/{b_rule_id}/progress"), None),
        (Method::POST, format!("{lms}/admin/rules/{b_rule_id}/dry-run"), None),
        (Method::POST, format!("{lms}/admin/rules/{b_rule_id}/apply"), None),
        (
            Method::GET,
            format!("{lms}/admin/rules/{b_rule_id}/explain?learner={b_learner}"),
            None,
        ),
        (
            Method::POST,
            format!("{lms}/admin/decisions/{b_decision_id}/review"),
            Some(json!({"approve": true})),
        ),
        (
            Method::PUT,
            format!("{lms}/admin/learners/{b_learner}/attributes"),
            Some(json!({"cohorts": ["x"]})),
        ),
        (Method::GET, format!("{lms}/admin/learners"), None),
        (
            Method::PUT,
            format!("{lms}/admin/learners"),
            Some(json!({"learners": []})),
        ),
        (Method::GET, format!("{lms}/admin/events"), None),
        (Method::GET, format!("{lms}/admin/webhook-sources"), None),
        (
            Method::PUT,
            format!("{lms}/admin/webhook-sources/generic"),
            Some(json!({"secrets": ["stolen"]})),
        ),
        (Method::GET, format!("{lms}/admin/lti/platforms"), None),
        (
            Method::POST,
            format!("{lms}/admin/lti/registration-links"),
            Some(json!({})),
        ),
        (Method::POST, format!("{lms}/admin/lti/keys/rotate"), None),
        (
            Method::POST,
            format!("{lms}/admin/webhook-sources/canvas/reconcile"),
            None,
        ),
        (Method::GET, format!("{verifier}/admin/api-clients"), None),
        (
            Method::POST,
            format!("{verifier}/admin/api-clients"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("{verifier}/admin/api-clients/{some_id}"), None),
    ];
    for (method, url, body) in &matrix {
        let mut r = stack.http.request(method.clone(), url).bearer_auth(&owner);
        match body {
            // A CSV upload (bulk awards).
            Some(Value::String(csv)) => r = r.header("Content-Type", "text/csv").body(csv.clone()),
            Some(body) => r = r.json(body),
            None => {}
        }
        let r = r.send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        assert!(matches!(status, 403 | 404), "{method} {url} answered {status}: {text}");
        for s in secrets {
            assert!(!text.contains(s), "{method} {url} leaked {s:?}: {text}");
        }
    }

    // A's lists hold nothing of B.
    for url in [
        format!("{issuer}/admin/issuers"),
        format!("{issuer}/admin/awards?recipient={b_learner}"),
        format!("{issuer}/admin/awards?badge_class_id={b_badge_id}"),
        format!("{lms}/admin/rules"),
        format!("{issuer}/admin/tokens"),
        format!("{issuer}/admin/webhook-subscriptions"),
        format!("{lms}/admin/decisions?limit=1000"),
        format!("{lms}/admin/decisions?learner={b_learner}"),
    ] {
        let r = stack.http.get(&url).bearer_auth(&owner).send().await?;
        assert_eq!(r.status(), 200, "{url}");
        let text = r.text().await?;
        // The lookup repeats the address it was asked about; nothing else of B.
        for s in secrets.iter().filter(|s| !url.contains(**s)) {
            assert!(!text.contains(s), "{url} leaked {s:?}: {text}");
        }
    }
    // Nothing of B changed.
    let sub_now: Value =
        json_of(stack.admin(Method::GET, format!("{issuer}/admin/webhook-subscriptions/{b_sub}"))).await?;
    assert_eq!(sub_now["enabled"], true);
    let b_now = stack.awards(b_learner).await?;
    assert_eq!(b_now[0]["status"], "active");
    let rule_now: Value = json_of(stack.admin(Method::GET, format!("{lms}/admin/rules/{b_rule_id}"))).await?;
    assert_eq!(
        (rule_now["active"].as_bool(), rule_now["version"].as_i64()),
        (Some(true), Some(1))
    );

    // Roles within A.
    let call = |token: &str, method: Method, url: String, body: Value| {
        stack.http.request(method, url).bearer_auth(token).json(&body).send()
    };
    let new_rule = json!({"course_id": "A-ROLES-101", "badge_class_id": seed.badge_class_id});
    assert_eq!(
        call(&viewer, Method::GET, format!("{lms}/admin/rules"), json!(null))
            .await?
            .status(),
        200
    );
    assert_eq!(
        call(&viewer, Method::POST, format!("{lms}/admin/rules"), new_rule.clone())
            .await?
            .status(),
        403
    );
    assert_eq!(
        call(
            &viewer,
            Method::PUT,
            format!("{lms}/admin/rules/{}", seed.rule_id),
            json!({"active": false})
        )
        .await?
        .status(),
        403
    );
    assert_eq!(
        call(
            &viewer,
            Method::POST,
            format!("{issuer}/admin/awards"),
            json!({"badge_class_id": seed.badge_class_id, "recipient": {"email": "v@a.jp"}})
        )
        .await?
        .status(),
        403
    );
    assert_eq!(
        call(
            &editor,
            Method::POST,
            format!("{issuer}/admin/tokens"),
            json!({"name": "e", "role": "viewer"})
        )
        .await?
        .status(),
        403,
        "an editor mints no tokens"
    );
    assert_eq!(
        call(&editor, Method::POST, format!("{lms}/admin/rules"), new_rule)
            .await?
            .status(),
        201
    );
    let minted = call(
        &owner,
        Method::POST,
        format!("{issuer}/admin/tokens"),
        json!({"name": "o", "role": "viewer"}),
    )
    .await?;
    assert_eq!(minted.status(), 201);
    let minted: Value = minted.json().await?;
    assert_eq!(minted["issuer_id"], a_id.as_str(), "bound to the owner's tenant");
    assert_eq!(
        call(
            &owner,
            Method::POST,
            format!("{issuer}/admin/tokens"),
            json!({"name": "o", "scopes": ["admin"]})
        )
        .await?
        .status(),
        403,
        "an owner grants no scope it lacks"
    );
    assert_eq!(
        call(
            &owner,
            Method::POST,
            format!("{issuer}/admin/tokens"),
            json!({"name": "o", "role": "root"})
        )
        .await?
        .status(),
        422
    );

    // The owner lists and revokes its tenant's tokens, and only those.
    let listed: Value = json_of(stack.http.get(format!("{issuer}/admin/tokens")).bearer_auth(&owner)).await?;
    let roles: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["role"].as_str())
        .collect();
    assert!(
        roles.contains(&"owner") && roles.contains(&"editor") && roles.contains(&"viewer"),
        "{listed}"
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["issuer_id"] == a_id.as_str())
    );
    let viewer_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "a-viewer")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_string();
    let r = stack
        .http
        .delete(format!("{issuer}/admin/tokens/{viewer_id}"))
        .bearer_auth(&owner)
        .send()
        .await?;
    assert_eq!(r.status(), 204);
    assert_eq!(
        call(&viewer, Method::GET, format!("{issuer}/admin/issuers"), json!(null))
            .await?
            .status(),
        401,
        "revoked by its tenant's owner"
    );
    assert_eq!(
        call(&editor, Method::GET, format!("{issuer}/admin/tokens"), json!(null))
            .await?
            .status(),
        403,
        "an editor does not manage tokens"
    );
    Ok(())
}
