//! A webhook with a bad, stale or missing signature is refused with 401, and
//! nothing is stored or published.

use std::time::Duration;

use akashi_e2e::{Service, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stale_or_missing_signatures_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let body = Stack::completion("evt-auth-1", "jiro@example.ac.jp", "DEMO-101").to_string();
    let now = chrono::Utc::now().timestamp();
    let secret = stack.webhook_secret.as_bytes();
    let sign = |secret: &[u8], t: i64, body: &str| akashi_crypto::webhook::signature_header(secret, t, body.as_bytes());
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("missing", None, "signature_missing"),
        ("malformed", Some("sha256=abc".into()), "signature_malformed"),
        (
            "wrong secret",
            Some(sign(b"not-the-secret", now, &body)),
            "signature_mismatch",
        ),
        ("stale (301 s)", Some(sign(secret, now - 301, &body)), "signature_stale"),
        // Well past the 300 s window: the request itself takes a moment
        // on a loaded machine, which brings a future time closer.
        (
            "from the future (330 s)",
            Some(sign(secret, now + 330, &body)),
            "signature_stale",
        ),
        (
            "signed another body",
            Some(sign(secret, now, "{}")),
            "signature_mismatch",
        ),
    ];
    for (name, signature, code) in cases {
        let response = stack.post_webhook(&body, signature.as_deref()).await?;
        assert_eq!(response.status(), 401, "{name}");
        let error: serde_json::Value = response.json().await?;
        // The specific reason is the error's code (integrators branch on it).
        assert_eq!(error["error"]["code"], code, "{name}: {error}");
        assert!(
            error["error"]["message"].as_str().unwrap().starts_with(code),
            "{name}: {error}"
        );
    }
    // A tampered body under a once-valid signature fails too.
    let valid = sign(secret, now, &body);
    let tampered = body.replace("jiro@", "eve@");
    assert_eq!(stack.post_webhook(&tampered, Some(&valid)).await?.status(), 401);

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM lms_events")
            .await?,
        0,
        "nothing stored"
    );
    assert_eq!(
        stack
            .count(
                Service::LmsAdapter,
                "SELECT count(*) AS n FROM bus_outbox WHERE routing_key = 'issue.requested'"
            )
            .await?,
        0,
        "nothing published"
    );
    assert_eq!(
        stack.count(Service::Issuer, "SELECT count(*) AS n FROM awards").await?,
        0
    );

    // Rotation: a request signed with the old and the new secret (two v1=) passes.
    let new_secret = "rotated-secret-2";
    let put = stack
        .admin(
            reqwest::Method::PUT,
            format!("{}/admin/webhook-sources/generic", stack.url(Service::LmsAdapter)),
        )
        .json(&serde_json::json!({"secrets": [new_secret, stack.webhook_secret]}))
        .send()
        .await?;
    assert_eq!(put.status(), 200);
    let header = format!(
        "t={now},v1={},v1={}",
        akashi_crypto::webhook::sign(b"retired", now, body.as_bytes()),
        akashi_crypto::webhook::sign(new_secret.as_bytes(), now, body.as_bytes())
    );
    assert_eq!(stack.post_webhook(&body, Some(&header)).await?.status(), 202);

    // Bad input with a good signature: 422, still nothing stored for it.
    let bad =
        serde_json::json!({"event_id": "evt-bad", "learner": {"email": "not-an-email"}, "course": {"id": "DEMO-101"}})
            .to_string();
    let response = stack
        .post_webhook(&bad, Some(&sign(new_secret.as_bytes(), now, &bad)))
        .await?;
    assert_eq!(response.status(), 422);
    let error: serde_json::Value = response.json().await?;
    assert_eq!(error["error"]["code"], "invalid_field");
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM lms_events")
            .await?,
        1
    );

    // An unknown source, and a known one nobody configured, answer 404.
    for source in ["blackboard", "moodle"] {
        let r = stack
            .http
            .post(format!("{}/webhooks/{source}", stack.url(Service::LmsAdapter)))
            .body("{}")
            .send()
            .await?;
        assert_eq!(r.status(), 404, "{source}");
    }
    Ok(())
}
