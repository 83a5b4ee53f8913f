//! Events out: an HR system's endpoint, checking every signature with the
//! Standard Webhooks reference library, receives exactly its tenant's
//! events, in order, through failures, an outage, a crash of the sender
//! and a secret rotation; private addresses are refused; the AsyncAPI
//! document parses with the AsyncAPI parser.

use std::path::PathBuf;
use std::time::Duration;

use akashi_e2e::receiver::Receiver;
use akashi_e2e::smtp::{readable, start_sink, wait_for_mails};
use akashi_e2e::{Service, Stack};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const WAIT: Duration = Duration::from_secs(30);

async fn json_of(r: reqwest::RequestBuilder, status: u16) -> anyhow::Result<Value> {
    let r = r.send().await?;
    let got = r.status().as_u16();
    let body = r.text().await?;
    anyhow::ensure!(got == status, "answered {got}, expected {status}: {body}");
    Ok(if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body)?
    })
}

/// Subscribes `url` to `events` with `token`; answers the subscription
/// (with its secret).
async fn subscribe(stack: &Stack, token: &str, url: &str, events: &[&str]) -> anyhow::Result<Value> {
    let request = reqwest::Client::new()
        .post(format!("{}/admin/webhook-subscriptions", stack.url(Service::Issuer)))
        .bearer_auth(token)
        .json(&json!({"url": url, "events": events}));
    json_of(request, 201).await
}

/// The requests that carried `event_type` about `award_id`.
fn about<'a>(received: &'a [Value], event_type: &str, award_id: &str) -> Vec<&'a Value> {
    received
        .iter()
        .filter(|r| r["body"]["type"] == format!("dev.akashi.{event_type}.v1") && r["body"]["subject"] == award_id)
        .collect()
}

/// Waits until a request about `award_id` of `event_type` was answered 2xx.
async fn delivered(receiver: &Receiver, event_type: &str, award_id: &str) -> anyhow::Result<Vec<Value>> {
    receiver
        .wait_for(&format!("{event_type} of {award_id}"), WAIT, |all| {
            let these = about(all, event_type, award_id);
            these
                .iter()
                .any(|r| r["answered"].as_u64().is_some_and(|s| (200..300).contains(&s)))
                .then(|| these.into_iter().cloned().collect())
        })
        .await
}

async fn deliveries(stack: &Stack, subscription_id: &str) -> anyhow::Result<Vec<Value>> {
    let log = stack
        .admin_json(&format!(
            "{}/admin/webhook-subscriptions/{subscription_id}/deliveries",
            stack.url(Service::Issuer)
        ))
        .await?;
    Ok(log.as_array().cloned().unwrap_or_default())
}

/// A second tenant with its own badge class and owner token.
async fn tenant_b(stack: &Stack) -> anyhow::Result<(String, String, String)> {
    let issuer = stack.url(Service::Issuer);
    let b = json_of(
        stack.admin(Method::POST, format!("{issuer}/admin/issuers")).json(
            &json!({"name": "Tenant B University", "url": "https://b.example.ac.jp", "email": "badges@b.example.ac.jp"}),
        ),
        201,
    )
    .await?;
    let b_id = b["id"].as_str().unwrap().to_string();
    let badge = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/issuers/{b_id}/badge-classes"))
            .json(&json!({"name": "Tenant B Badge", "description": "d", "criteria": "c", "image_base64": PNG_1X1})),
        201,
    )
    .await?;
    let token = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "B registrar", "role": "owner", "issuer_id": b_id})),
        201,
    )
    .await?;
    Ok((
        b_id,
        badge["id"].as_str().unwrap().to_string(),
        token["token"].as_str().unwrap().to_string(),
    ))
}

/// An award of `badge_class_id` made by an admin; answers its id.
async fn admin_award(stack: &Stack, badge_class_id: &str, email: &str) -> anyhow::Result<String> {
    let r = stack
        .admin(Method::POST, format!("{}/admin/awards", stack.url(Service::Issuer)))
        .json(&json!({"badge_class_id": badge_class_id, "recipient": {"email": email}}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "award answered {}", r.status());
    let body: Value = r.json().await?;
    Ok(body["award"]["award_id"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hr_system_receives_exactly_its_tenants_events_in_order_and_verified() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let a_owner = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "A HR link", "role": "owner", "issuer_id": seed.issuer_id})),
        201,
    )
    .await?["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (b_id, b_badge, b_owner) = tenant_b(&stack).await?;

    let hr_a = Receiver::start(&[]).await?;
    let hr_b = Receiver::start(&[]).await?;
    let sub_a = subscribe(&stack, &a_owner, &hr_a.url(), &["badge.issued", "badge.revoked"]).await?;
    let secret = sub_a["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{sub_a}");
    assert_eq!(sub_a["owner_issuer_id"], seed.issuer_id.as_str());
    hr_a.set_secrets(&[secret])?;
    let sub_b = subscribe(&stack, &b_owner, &hr_b.url(), &["badge.issued", "badge.revoked"]).await?;
    hr_b.set_secrets(&[sub_b["secret"].as_str().unwrap()])?;

    // The fixed contract: a platform token, only url and events.
    let platform = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/webhook-subscriptions"))
            .json(&json!({"url": hr_a.url(), "events": ["badge.expired"]})),
        201,
    )
    .await?;
    assert!(
        platform["id"].is_string() && platform["secret"].is_string(),
        "{platform}"
    );

    let award = stack
        .complete_course("evt-hr-1", "sora@example.ac.jp", "DEMO-101")
        .await?;
    let award_id = award["award_id"].as_str().unwrap();
    let b_award = admin_award(&stack, &b_badge, "ren@b.example.ac.jp").await?;
    let issued = delivered(&hr_a, "badge.issued", award_id).await?;
    assert_eq!(issued.len(), 1, "once: {issued:?}");
    let request = &issued[0];
    assert_eq!(
        request["verified_with"],
        json!([0]),
        "the reference library verifies it"
    );
    assert_eq!(request["content_type"], "application/cloudevents+json");
    let event = &request["body"];
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["data"]["badge_class"]["id"], seed.badge_class_id.as_str());
    assert_eq!(event["data"]["urls"]["badge_page"], award["badge_page"]);
    assert!(
        !event.to_string().contains("sora@example.ac.jp"),
        "no address unless asked: {event}"
    );
    // The badge page it names is the one people are sent to.
    let page = reqwest::get(event["data"]["urls"]["badge_page"].as_str().unwrap()).await?;
    assert_eq!(page.status(), 200);

    stack.revoke(&award, "Issued to the wrong learner").await?;
    let revoked = delivered(&hr_a, "badge.revoked", award_id).await?;
    assert_eq!(revoked[0]["verified_with"], json!([0]));
    assert_eq!(
        revoked[0]["body"]["data"]["revocation"]["reason"],
        "Issued to the wrong learner"
    );
    let all = hr_a.received();
    let order: Vec<&str> = all
        .iter()
        .filter(|r| r["body"]["subject"] == award_id)
        .map(|r| r["body"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["dev.akashi.badge.issued.v1", "dev.akashi.badge.revoked.v1"]);

    // B's endpoint hears B's award, and nothing of A; A's nothing of B.
    let b_issued = delivered(&hr_b, "badge.issued", &b_award).await?;
    assert_eq!(b_issued[0]["body"]["data"]["issuer"]["id"], b_id.as_str());
    assert!(hr_b.received().iter().all(|r| r["body"]["subject"] == b_award.as_str()));
    assert!(about(&hr_a.received(), "badge.issued", &b_award).is_empty());

    // Tenants see only their own subscriptions.
    let as_b = |method: Method, url: String| reqwest::Client::new().request(method, url).bearer_auth(&b_owner);
    let listed = json_of(as_b(Method::GET, format!("{issuer}/admin/webhook-subscriptions")), 200).await?;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], sub_b["id"]);
    assert!(listed[0].get("secret").is_none(), "the secret is shown only once");
    let a_sub = sub_a["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/admin/webhook-subscriptions/{a_sub}")),
        (Method::PATCH, format!("/admin/webhook-subscriptions/{a_sub}")),
        (Method::DELETE, format!("/admin/webhook-subscriptions/{a_sub}")),
        (
            Method::POST,
            format!("/admin/webhook-subscriptions/{a_sub}/rotate-secret"),
        ),
        (Method::GET, format!("/admin/webhook-subscriptions/{a_sub}/deliveries")),
        (Method::POST, format!("/admin/webhook-subscriptions/{a_sub}/replay")),
    ] {
        let r = as_b(method.clone(), format!("{issuer}{path}"))
            .json(&json!({}))
            .send()
            .await?;
        assert!(
            matches!(r.status().as_u16(), 404 | 422),
            "{method} {path}: {}",
            r.status()
        );
        assert_ne!(
            r.status(),
            422,
            "{method} {path} reached validation: {}",
            r.text().await?
        );
    }
    // A tenant cannot subscribe to another tenant's events.
    let r = as_b(Method::POST, format!("{issuer}/admin/webhook-subscriptions"))
        .json(&json!({"url": hr_b.url(), "events": ["badge.issued"], "issuer_id": seed.issuer_id}))
        .send()
        .await?;
    assert_eq!(r.status(), 404);

    // The delivery log: each delivered once, at the first attempt.
    let log = deliveries(&stack, a_sub).await?;
    assert_eq!(log.len(), 2, "{log:?}");
    for d in &log {
        assert_eq!(d["status"], "delivered");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["attempt_log"][0]["status_code"], 200);
        assert!(d["webhook_id"].as_str().unwrap().starts_with("msg_"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_back_off_and_an_outage_is_waited_out() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let mut hr = Receiver::start(&[]).await?;
    let sub = subscribe(
        &stack,
        &stack.admin_token,
        &hr.url(),
        &["badge.issued", "badge.revoked"],
    )
    .await?;
    hr.set_secrets(&[sub["secret"].as_str().unwrap()])?;
    hr.plan(&["500", "500", "500"])?;
    let award_id = admin_award(&stack, &seed.badge_class_id, "kai@example.ac.jp").await?;
    let tries = delivered(&hr, "badge.issued", &award_id).await?;
    let answers: Vec<u64> = tries.iter().map(|t| t["answered"].as_u64().unwrap()).collect();
    assert_eq!(answers, [500, 500, 500, 200]);
    let ids: std::collections::BTreeSet<&str> = tries.iter().map(|t| t["webhook_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one webhook-id on every attempt");
    assert!(tries.iter().all(|t| t["verified_with"] == json!([0])));

    let log = deliveries(&stack, sub["id"].as_str().unwrap()).await?;
    let attempts = log[0]["attempt_log"].as_array().unwrap();
    let codes: Vec<i64> = attempts.iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 500, 500, 200], "{log:?}");
    assert_eq!(attempts[0]["response_excerpt"], "not now");
    // Back-off: each wait at least half of 200 ms doubled per attempt.
    let at: Vec<DateTime<Utc>> = attempts
        .iter()
        .map(|a| a["attempted_at"].as_str().unwrap().parse().unwrap())
        .collect();
    for (n, pair) in at.windows(2).enumerate() {
        let waited = (pair[1] - pair[0]).num_milliseconds();
        let least = 100 << n;
        assert!(waited >= least, "wait {n} was {waited} ms, at least {least} expected");
    }

    // The endpoint is down for a while: the revocation waits for it.
    hr.stop();
    let award = json!({"award_id": award_id});
    stack.revoke(&award, "Withdrawn").await?;
    let sub_id = sub["id"].as_str().unwrap();
    let mut failed_attempts = 0;
    for _ in 0..100 {
        let log = deliveries(&stack, sub_id).await?;
        let revoked = log.iter().find(|d| d["event_type"] == "badge.revoked");
        failed_attempts = revoked.map_or(0, |d| d["attempts"].as_i64().unwrap());
        if failed_attempts >= 2 {
            assert_eq!(revoked.unwrap()["status"], "pending");
            assert_eq!(revoked.unwrap()["attempt_log"][0]["error"], "the request failed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        failed_attempts >= 2,
        "the revocation was tried while the endpoint was down"
    );
    hr.resume().await?;
    let revoked = delivered(&hr, "badge.revoked", &award_id).await?;
    assert_eq!(revoked.len(), 1, "nothing reached the endpoint while it was down");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_delivery_sends_the_same_webhook_id_again() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let hr = Receiver::start(&[]).await?;
    let sub = subscribe(&stack, &stack.admin_token, &hr.url(), &["badge.issued"]).await?;
    hr.set_secrets(&[sub["secret"].as_str().unwrap()])?;
    // The first request is held for 1.5 s: the issuer dies waiting for it.
    hr.plan(&["sleep 1.5 200"])?;
    let award_id = admin_award(&stack, &seed.badge_class_id, "mei@example.ac.jp").await?;
    let first = hr
        .wait_for("the first attempt", WAIT, |all| all.first().cloned())
        .await?;
    stack.kill(Service::Issuer);
    stack.restart(Service::Issuer).await?;
    // After the lease (3 s in tests) the restarted issuer sends it again.
    let again = hr
        .wait_for("the attempt after the crash", WAIT, |all| {
            let these = about(all, "badge.issued", &award_id);
            (these.len() >= 2).then(|| these.into_iter().cloned().collect::<Vec<_>>())
        })
        .await?;
    assert!(
        again.iter().all(|r| r["webhook_id"] == first["webhook_id"]),
        "{again:?}"
    );
    assert!(again.iter().all(|r| r["verified_with"] == json!([0])));
    // The receiver records a request when it arrives; the issuer records
    // the answer a moment later.
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&stack, sub["id"].as_str().unwrap()).await?;
        if log.first().is_some_and(|d| d["status"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered", "{log:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_and_the_old_one_both_sign_during_the_overlap() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let hr = Receiver::start(&[]).await?;
    let sub = subscribe(&stack, &stack.admin_token, &hr.url(), &["badge.issued"]).await?;
    let sub_id = sub["id"].as_str().unwrap();
    let first = sub["secret"].as_str().unwrap().to_string();
    let rotate = |overlap: u32| {
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/webhook-subscriptions/{sub_id}/rotate-secret"),
            )
            .json(&json!({"overlap_secs": overlap}))
    };
    let rotated = json_of(rotate(3600), 200).await?;
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert!(rotated["previous_secret_expires_at"].is_string());
    hr.set_secrets(&[&first, &second])?;
    let one = admin_award(&stack, &seed.badge_class_id, "aoi@example.ac.jp").await?;
    let got = delivered(&hr, "badge.issued", &one).await?;
    assert_eq!(
        got[0]["verified_with"],
        json!([0, 1]),
        "both secrets verify it during the overlap"
    );

    // No overlap: only the newest secret signs from now on.
    let third = json_of(rotate(0), 200).await?["secret"].as_str().unwrap().to_string();
    hr.set_secrets(&[&second, &third])?;
    let two = admin_award(&stack, &seed.badge_class_id, "yui@example.ac.jp").await?;
    let got = delivered(&hr, "badge.issued", &two).await?;
    assert_eq!(got[0]["verified_with"], json!([1]));
    assert_eq!(json_of(rotate(700_000), 422).await?["error"]["code"], "invalid_field");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_when_subscribing_and_when_delivering() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    for url in [
        "http://127.0.0.2:9/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hooks",
        "ftp://127.0.0.1/hooks",
        "not a url",
        "http://user:pw@127.0.0.1:9/hooks",
    ] {
        let r = stack
            .admin(Method::POST, format!("{issuer}/admin/webhook-subscriptions"))
            .json(&json!({"url": url, "events": ["badge.issued"]}))
            .send()
            .await?;
        assert_eq!(r.status(), 422, "{url}");
        let body: Value = r.json().await?;
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    for events in [json!([]), json!(["badge.deleted"])] {
        let r = stack
            .admin(Method::POST, format!("{issuer}/admin/webhook-subscriptions"))
            .json(&json!({"url": "http://127.0.0.1:9/h", "events": events}))
            .send()
            .await?;
        assert_eq!(r.status(), 422, "{events}");
    }
    assert_eq!(
        stack
            .count(Service::Issuer, "SELECT count(*) AS n FROM webhook_subscriptions")
            .await?,
        0,
        "refused requests change nothing"
    );

    // Allowed when it was made; the operator then takes loopback off the
    // list: delivery checks the address again and sends nothing.
    let hr = Receiver::start(&[]).await?;
    let sub = subscribe(&stack, &stack.admin_token, &hr.url(), &["badge.issued"]).await?;
    stack.set_env(Service::Issuer, "AKASHI_ISSUER_WEBHOOKS__ALLOW_PRIVATE_HOSTS", "[]");
    stack.restart(Service::Issuer).await?;
    let award_id = admin_award(&stack, &seed.badge_class_id, "riku@example.ac.jp").await?;
    let sub_id = sub["id"].as_str().unwrap();
    let mut refused = None;
    for _ in 0..100 {
        let log = deliveries(&stack, sub_id).await?;
        if let Some(attempt) = log.first().and_then(|d| d["attempt_log"].get(0)) {
            refused = Some(attempt.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("an attempt was made");
    assert!(
        refused["error"].as_str().unwrap().contains("address policy"),
        "{refused}"
    );
    assert!(refused["status_code"].is_null());
    assert!(about(&hr.received(), "badge.issued", &award_id).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_announced_once_and_a_dead_endpoint_is_turned_off() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let issuer = stack.url(Service::Issuer);
    let hr = Receiver::start(&[]).await?;
    let sub = subscribe(&stack, &stack.admin_token, &hr.url(), &["badge.expired"]).await?;
    hr.set_secrets(&[sub["secret"].as_str().unwrap()])?;
    let expires_on = Utc::now() + chrono::Duration::seconds(3);
    let badge = json_of(
        stack
            .admin(
                Method::POST,
                format!("{issuer}/admin/issuers/{}/badge-classes", seed.issuer_id),
            )
            .json(&json!({"name": "Fire drill 2026", "description": "d", "criteria": "c",
                          "image_base64": PNG_1X1, "expires_on": expires_on})),
        201,
    )
    .await?;
    let award_id = admin_award(&stack, badge["id"].as_str().unwrap(), "hana@example.ac.jp").await?;
    let expired = delivered(&hr, "badge.expired", &award_id).await?;
    assert_eq!(expired.len(), 1);
    let at: DateTime<Utc> = expired[0]["body"]["data"]["expired_at"].as_str().unwrap().parse()?;
    assert!(
        (at - expires_on).num_milliseconds().abs() < 1000,
        "{at} vs {expires_on}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        about(&hr.received(), "badge.expired", &award_id).len(),
        1,
        "announced once"
    );

    // An endpoint that fails for the whole retry period (3 s here) is
    // turned off, and the tenant is told by mail.
    stack.set_env(Service::Issuer, "AKASHI_ISSUER_WEBHOOKS__GIVE_UP_AFTER_SECS", "3");
    stack.restart(Service::Issuer).await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mail_dir = std::env::temp_dir().join(format!("akashi-dead-hook-{}", uuid::Uuid::new_v4()));
    let _sink = start_sink(port, &mail_dir)?;
    stack.set_env(
        Service::Display,
        "AKASHI_DISPLAY_MAIL__SMTP_URL",
        &format!("smtp://127.0.0.1:{port}"),
    );
    stack.restart(Service::Display).await?;
    let owner = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/tokens"))
            .json(&json!({"name": "A integrations", "role": "owner", "issuer_id": seed.issuer_id})),
        201,
    )
    .await?;
    let dead = subscribe(
        &stack,
        owner["token"].as_str().unwrap(),
        "http://127.0.0.1:9/nobody",
        &["badge.expired"],
    )
    .await?;
    let dead_id = dead["id"].as_str().unwrap();
    let second = admin_award(&stack, badge["id"].as_str().unwrap(), "sho@example.ac.jp").await?;
    let url = format!("{issuer}/admin/webhook-subscriptions/{dead_id}");
    let mut view = Value::Null;
    for _ in 0..150 {
        view = stack.admin_json(&url).await?;
        if view["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(view["enabled"], false, "{view}");
    assert!(view["disabled_reason"].as_str().unwrap().contains("retry period"));
    let log = deliveries(&stack, dead_id).await?;
    assert_eq!(log[0]["status"], "failed");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 2);
    let mut notice = None;
    for _ in 0..300 {
        notice = akashi_e2e::smtp::mails(&mail_dir)
            .into_iter()
            .find(|m| m.contains(".subscription_disabled"));
        if notice.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = readable(&notice.expect("a mail tells the tenant"));
    assert!(mail.contains("badges@demo.akashi.example"), "{mail}");
    assert!(
        mail.contains("http://127.0.0.1:9/nobody") && mail.contains(dead_id),
        "{mail}"
    );
    // The healthy subscription heard of the second expiry meanwhile.
    delivered(&hr, "badge.expired", &second).await?;

    // Turned back on, pointing at a working endpoint: a replay delivers.
    hr.set_secrets(&[sub["secret"].as_str().unwrap(), dead["secret"].as_str().unwrap()])?;
    json_of(
        stack
            .admin(Method::PATCH, url.clone())
            .json(&json!({"enabled": true, "url": hr.url()})),
        200,
    )
    .await?;
    let replayed = json_of(
        stack
            .admin(Method::POST, format!("{url}/replay"))
            .json(&json!({"delivery_id": log[0]["id"]})),
        202,
    )
    .await?;
    assert_eq!(replayed["replayed"], 1);
    let got = hr
        .wait_for("the replayed expiry", WAIT, |all| {
            all.iter().find(|r| r["webhook_id"] == log[0]["webhook_id"]).cloned()
        })
        .await?;
    assert_eq!(got["verified_with"], json!([1]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asyncapi_document_is_served_and_parses() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let served = reqwest::get(format!("{}/asyncapi.json", stack.url(Service::Issuer))).await?;
    assert_eq!(served.status(), 200);
    let served: Value = served.json().await?;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/asyncapi.json");
    let documented: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    assert_eq!(served, documented);
    let checker = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/asyncapi/check.mjs");
    let output = std::process::Command::new("node").arg(checker).arg(&path).output()?;
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| anyhow::anyhow!("{e}: {}", String::from_utf8_lossy(&output.stderr)))?;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["version"], "3.0.0");
    // Every event a subscription accepts is described, and nothing else.
    let refused = stack
        .admin(
            Method::POST,
            format!("{}/admin/webhook-subscriptions", stack.url(Service::Issuer)),
        )
        .json(&json!({"url": "http://127.0.0.1:9/h", "events": ["badge.nope"]}))
        .send()
        .await?;
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await?;
    assert_eq!(refused["error"]["code"], "unknown_event_type");
    let message = refused["error"]["message"].as_str().unwrap();
    let mut known: Vec<String> = message
        .rsplit("is not one of ")
        .next()
        .unwrap()
        .split(", ")
        .map(String::from)
        .collect();
    known.sort();
    let mut described: Vec<String> = serde_json::from_value(report["messages"].clone())?;
    described.sort();
    let mut accepted = Vec::new();
    for name in &described {
        let r = stack
            .admin(
                Method::POST,
                format!("{}/admin/webhook-subscriptions", stack.url(Service::Issuer)),
            )
            .json(&json!({"url": "http://127.0.0.1:9/h", "events": [name]}))
            .send()
            .await?;
        if r.status() == 201 {
            accepted.push(name.clone());
        }
    }
    assert_eq!(accepted, described);
    assert_eq!(known, described);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_badge_and_a_decision_awaiting_approval_reach_subscribers() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mail_dir = std::env::temp_dir().join(format!("akashi-claim-{}", uuid::Uuid::new_v4()));
    let _sink = start_sink(port, &mail_dir)?;
    stack.set_env(
        Service::Display,
        "AKASHI_DISPLAY_MAIL__SMTP_URL",
        &format!("smtp://127.0.0.1:{port}"),
    );
    stack.restart(Service::Display).await?;
    let issuer = stack.url(Service::Issuer);
    let hr = Receiver::start(&[]).await?;
    let sub = json_of(
        stack
            .admin(Method::POST, format!("{issuer}/admin/webhook-subscriptions"))
            .json(
                &json!({"url": hr.url(), "events": ["badge.claimed", "rule.decision.pending"],
                          "include_recipient_email": true}),
            ),
        201,
    )
    .await?;
    hr.set_secrets(&[sub["secret"].as_str().unwrap()])?;

    // The earner signs in with the link from the mail: the badge is claimed, once.
    let email = "nagi@example.ac.jp";
    let award = stack.complete_course("evt-claim-1", email, "DEMO-101").await?;
    let award_id = award["award_id"].as_str().unwrap();
    let host = stack.url(Service::Host);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for round in 0..2 {
        let r = http
            .post(format!("{host}/signin"))
            .header("Origin", &host)
            .form(&[("email", email), ("lang", "en")])
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let mails = wait_for_mails(&mail_dir, 2 + round, WAIT).await?;
        let signin = readable(
            mails
                .iter()
                .rev()
                .find(|m| m.contains(".signin"))
                .expect("a sign-in mail"),
        );
        let link = signin
            .split_whitespace()
            .find(|w| w.starts_with(&format!("{host}/signin/")))
            .expect("the link in the mail")
            .to_string();
        let used = http
            .post(link.split('?').next().unwrap())
            .header("Origin", &host)
            .send()
            .await?;
        assert_eq!(used.status(), 303);
    }
    let claimed = delivered(&hr, "badge.claimed", award_id).await?;
    assert_eq!(claimed[0]["verified_with"], json!([0]));
    let data = &claimed[0]["body"]["data"];
    assert_eq!(data["claimed_through"], "backpack");
    assert_eq!(data["recipient"]["email"], email, "asked for: the address travels");
    assert_eq!(data["urls"]["badge_page"], award["badge_page"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        about(&hr.received(), "badge.claimed", award_id).len(),
        1,
        "a second sign-in claims nothing new"
    );

    // A rule that needs approval decides: its decision waits, and is announced.
    let lms = stack.url(Service::LmsAdapter);
    let mut rule = Value::Null;
    for _ in 0..100 {
        let r = stack
            .admin(Method::POST, format!("{lms}/admin/rules"))
            .json(&json!({"badge_class_id": seed.badge_class_id, "definition": {
                "criteria": {"completed": {"course": "APPROVE-1"}}, "requires_approval": true}}))
            .send()
            .await?;
        if r.status() == 201 {
            rule = r.json().await?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rule_id = rule["id"].as_str().expect("the rule was made");
    let r = stack
        .post_completion(&Stack::completion("evt-approve-1", "kaito@example.ac.jp", "APPROVE-1"))
        .await?;
    assert_eq!(r.status(), 202);
    let pending = hr
        .wait_for("the pending decision", WAIT, |all| {
            all.iter()
                .find(|r| r["body"]["type"] == "dev.akashi.rule.decision.pending.v1")
                .cloned()
        })
        .await?;
    assert_eq!(pending["verified_with"], json!([0]));
    let event = &pending["body"];
    assert_eq!(event["data"]["rule"]["id"], rule_id);
    assert_eq!(event["data"]["course_id"], "APPROVE-1");
    assert_eq!(event["subject"], event["data"]["decision_id"]);
    assert_eq!(event["data"]["recipient"]["email"], "kaito@example.ac.jp");
    assert!(
        stack.awards("kaito@example.ac.jp").await?.is_empty(),
        "nothing awarded before approval"
    );
    Ok(())
}

/// `akashi subscriptions …` with the stack's admin token; answers its JSON.
async fn akashi(stack: &Stack, args: &[&str]) -> anyhow::Result<Value> {
    let output = tokio::process::Command::new(akashi_e2e::bin_dir().join("akashi"))
        .arg("subscriptions")
        .args(args)
        .env("AKASHI_ISSUER_URL", stack.url(Service::Issuer))
        .env("AKASHI_ADMIN_TOKEN", &stack.admin_token)
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "akashi subscriptions {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_from_the_command_line() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let hr = Receiver::start(&[]).await?;
    let url = hr.url();
    let made = akashi(
        &stack,
        &[
            "create",
            "--url",
            &url,
            "--event",
            "badge.issued",
            "--event",
            "badge.revoked",
        ],
    )
    .await?;
    let id = made["id"].as_str().unwrap().to_string();
    hr.set_secrets(&[made["secret"].as_str().unwrap()])?;
    assert_eq!(made["events"], json!(["badge.issued", "badge.revoked"]));
    assert_eq!(akashi(&stack, &["list"]).await?[0]["id"], id.as_str());
    assert_eq!(akashi(&stack, &["disable", &id]).await?["enabled"], false);
    // Off: an award made now is not recorded for it.
    let missed = admin_award(&stack, &seed.badge_class_id, "off@example.ac.jp").await?;
    assert_eq!(akashi(&stack, &["enable", &id]).await?["enabled"], true);
    let heard = admin_award(&stack, &seed.badge_class_id, "on@example.ac.jp").await?;
    delivered(&hr, "badge.issued", &heard).await?;
    assert!(about(&hr.received(), "badge.issued", &missed).is_empty());
    let log = akashi(&stack, &["deliveries", &id, "--status", "delivered"]).await?;
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    let delivery = log[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        akashi(&stack, &["replay", &id, "--delivery", &delivery]).await?["replayed"],
        1
    );
    hr.wait_for("the replay", WAIT, |all| {
        (about(all, "badge.issued", &heard).len() == 2).then_some(())
    })
    .await?;
    let rotated = akashi(&stack, &["rotate-secret", &id, "--overlap-secs", "60"]).await?;
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    akashi(&stack, &["delete", &id]).await?;
    assert_eq!(akashi(&stack, &["list"]).await?, json!([]));
    Ok(())
}

/// The attribute value after `prefix` in `html`, up to the next quote.
fn attribute_after<'a>(html: &'a str, prefix: &str) -> Option<&'a str> {
    let start = html.find(prefix)? + prefix.len();
    html[start..].split('"').next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_subscribes_an_hr_system_from_the_console() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let seed = stack.seed().await?;
    let display = stack.url(Service::Display);
    let cookie = stack.console_session().await?;
    let http = akashi_e2e::no_redirects();
    let get = |path: String| {
        http.get(format!("{display}{path}"))
            .header("Cookie", &cookie)
            .header("Accept-Language", "ja")
    };
    let form_page = get("/console/subscriptions".into()).send().await?.text().await?;
    assert!(form_page.contains("イベント配信"), "the page in Japanese: {form_page}");
    assert!(form_page.contains("rule.decision.pending"), "every event is offered");
    let action = attribute_after(
        &form_page,
        "<form method=\"post\" action=\"/console/subscriptions?csrf=",
    )
    .expect("the form")
    .to_string();
    let hr = Receiver::start(&[]).await?;
    let answer = http
        .post(format!("{display}/console/subscriptions?csrf={action}"))
        .header("Cookie", &cookie)
        .header("Origin", &display)
        .form(&[
            ("url", hr.url().as_str()),
            ("event", "badge.issued"),
            ("event", "badge.expired"),
        ])
        .send()
        .await?;
    assert_eq!(answer.status(), 200);
    let shown = answer.text().await?;
    let secret = attribute_after(&shown, "<code id=\"new-secret\">")
        .map(|s| s.split('<').next().unwrap_or_default().to_string())
        .expect("the secret is shown once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    hr.set_secrets(&[&secret])?;
    let award_id = admin_award(&stack, &seed.badge_class_id, "console@example.ac.jp").await?;
    let got = delivered(&hr, "badge.issued", &award_id).await?;
    assert_eq!(got[0]["verified_with"], json!([0]), "the secret the page showed signs");

    // The list links to the delivery log; the admin turns it off there.
    let listed = get("/console/subscriptions".into()).send().await?.text().await?;
    assert!(!listed.contains(&secret), "the secret is not shown again");
    let id = attribute_after(&listed, "href=\"/console/subscriptions?show=")
        .expect("a link to the log")
        .to_string();
    let log = get(format!("/console/subscriptions?show={id}"))
        .send()
        .await?
        .text()
        .await?;
    assert!(log.contains("data-status=\"delivered\""), "{log}");
    let off = http
        .post(format!("{display}/console/subscriptions/{id}/off?csrf={action}"))
        .header("Cookie", &cookie)
        .header("Origin", &display)
        .send()
        .await?;
    assert_eq!(off.status(), 303);
    let view = stack
        .admin_json(&format!(
            "{}/admin/webhook-subscriptions/{id}",
            stack.url(Service::Issuer)
        ))
        .await?;
    assert_eq!(view["enabled"], false);
    assert_eq!(view["events"], json!(["badge.issued", "badge.expired"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifications_are_announced_when_the_operator_turns_them_on() -> anyhow::Result<()> {
    let mut stack = Stack::start().await?;
    stack.seed().await?;
    stack.set_env(Service::Verifier, "AKASHI_VERIFIER_VERIFICATION_EVENTS", "true");
    stack.restart(Service::Verifier).await?;
    let hr = Receiver::start(&[]).await?;
    let sub = subscribe(&stack, &stack.admin_token, &hr.url(), &["verification.performed"]).await?;
    hr.set_secrets(&[sub["secret"].as_str().unwrap()])?;
    let award = stack
        .complete_course("evt-verify-1", "ao@example.ac.jp", "DEMO-101")
        .await?;
    let award_id = award["award_id"].as_str().unwrap();
    let report = stack.verify(award["badge_page"].as_str().unwrap(), None).await?;
    assert_eq!(report["status"], "valid");
    let got = delivered(&hr, "verification.performed", award_id).await?;
    assert_eq!(got[0]["verified_with"], json!([0]));
    let verification = &got[0]["body"]["data"]["verification"];
    assert_eq!(verification["status"], "valid");
    assert_eq!(verification["input"], "url");
    assert_eq!(
        verification.as_object().unwrap().len(),
        3,
        "the verdict, format and input only: {verification}"
    );
    // A URL shaped like ours that names no award is not announced, nor
    // dead-lettered.
    let host = stack.url(Service::Host);
    let made_up = format!("{host}/ob2/assertions/{}", uuid::Uuid::now_v7());
    stack.verify(&made_up, None).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hr.received().len(), 1, "{:?}", hr.received());
    assert_eq!(
        stack
            .count(Service::Issuer, "SELECT count(*) AS n FROM dead_letters")
            .await?,
        0
    );
    Ok(())
}
