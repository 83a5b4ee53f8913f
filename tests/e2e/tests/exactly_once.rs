//! Nothing doubled: one completion posted five times, the same learner
//! completing again under new event ids, and twenty learners at once.

use std::time::Duration;

use akashi_e2e::{Service, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_completion_five_times_yields_one_badge() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let body = Stack::completion("evt-dup-1", "taro@example.ac.jp", "DEMO-101");
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let r = stack.post_completion(&body).await?;
        statuses.push(r.status().as_u16());
        let v: serde_json::Value = r.json().await?;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses,
        vec![202, 200, 200, 200, 200],
        "first accepted, redeliveries answered 2xx"
    );
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every answer names the one stored event"
    );

    // The same learner completing again (new event ids, an Idempotency-Key
    // instead of an event_id) is still the same award.
    let mut again = Stack::completion("evt-dup-2", "TARO@example.ac.jp", "DEMO-101");
    assert_eq!(stack.post_completion(&again).await?.status(), 202);
    again.as_object_mut().unwrap().remove("event_id");
    let raw = again.to_string();
    let sig = akashi_crypto::webhook::signature_header(
        stack.webhook_secret.as_bytes(),
        chrono::Utc::now().timestamp(),
        raw.as_bytes(),
    );
    let keyed = stack
        .http
        .post(format!("{}/webhooks/generic", stack.url(Service::LmsAdapter)))
        .header("Content-Type", "application/json")
        .header("X-Akashi-Signature", &sig)
        .header("Idempotency-Key", "key-1")
        .body(raw.clone())
        .send()
        .await?;
    assert_eq!(keyed.status(), 202);
    let keyed_again = stack
        .http
        .post(format!("{}/webhooks/generic", stack.url(Service::LmsAdapter)))
        .header("Content-Type", "application/json")
        .header("X-Akashi-Signature", &sig)
        .header("Idempotency-Key", "key-1")
        .body(raw)
        .send()
        .await?;
    assert_eq!(keyed_again.status(), 200, "the Idempotency-Key recognises a redelivery");

    stack
        .wait_for_awards("taro@example.ac.jp", 1, Duration::from_secs(10))
        .await?;
    // Give any stray duplicate time to arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.awards("taro@example.ac.jp").await?.len(), 1);
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM lms_events")
            .await?,
        3
    );
    assert_eq!(
        stack
            .count(Service::LmsAdapter, "SELECT count(*) AS n FROM award_decisions")
            .await?,
        1
    );
    assert_eq!(
        stack.count(Service::Issuer, "SELECT count(*) AS n FROM awards").await?,
        1
    );
    assert_eq!(
        stack
            .count(Service::Host, "SELECT count(*) AS n FROM hosted_assertions")
            .await?,
        1
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_learners_at_once_get_exactly_one_badge_each() -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    stack.seed().await?;
    let posts = (0..20).map(|i| {
        let stack = &stack;
        async move {
            let email = format!("learner{i:02}@example.ac.jp");
            // Each learner's completion is delivered twice, concurrently.
            let body = Stack::completion(&format!("evt-many-{i}"), &email, "DEMO-101");
            let (a, b) = tokio::join!(stack.post_completion(&body), stack.post_completion(&body));
            let mut codes = vec![a?.status().as_u16(), b?.status().as_u16()];
            codes.sort();
            anyhow::ensure!(
                codes == vec![200, 202],
                "one accepted, one recognised duplicate: {codes:?}"
            );
            Ok::<_, anyhow::Error>(email)
        }
    });
    let emails = futures_util::future::try_join_all(posts).await?;
    for email in &emails {
        stack.wait_for_awards(email, 1, Duration::from_secs(20)).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for email in &emails {
        assert_eq!(
            stack.awards(email).await?.len(),
            1,
            "{email} must have exactly one badge"
        );
    }
    assert_eq!(
        stack.count(Service::Issuer, "SELECT count(*) AS n FROM awards").await?,
        20
    );
    assert_eq!(
        stack
            .count(Service::Host, "SELECT count(*) AS n FROM hosted_assertions")
            .await?,
        20
    );
    Ok(())
}
